using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Artifacts;

public static class ArtifactUploads
{
    public static MultipartFormDataContent Form(string name, string version, Stream file, string kind = "firmware", params string[] deviceTypes)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(name), "name" },
            { new StringContent(version), "version" },
            { new StringContent(kind), "kind" },
            { new StringContent(string.Join(',', deviceTypes.Length == 0 ? ["screen"] : deviceTypes)), "deviceTypesCompatible" },
            { new StringContent("""{"rootfs.checksum":"abc"}"""), "provides" },
        };
        var content = new StreamContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(content, "file", $"{name}-{version}.img");
        return form;
    }

    public static async Task<JsonElement> UploadAsync(HttpClient client, string name, string version, long size, int seed = 1, params string[] deviceTypes)
    {
        var response = await client.PostAsync("/api/v1/artifacts", Form(name, version, new PatternStream(size, seed), "firmware", deviceTypes));
        return await (await response.AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
    }
}

public sealed class ArtifactTests() : TenantScopedTests("art")
{
    private readonly HttpClient _storage = new();

    public override Task DisposeAsync()
    {
        _storage.Dispose();
        return base.DisposeAsync();
    }

    private async Task<Uri> DownloadUrlAsync(string id, int? seconds = null) =>
        new((await (await (await Owner.GetAsync($"/api/v1/artifacts/{id}/download{(seconds is null ? "" : $"?expiresInSeconds={seconds}")}"))
            .AssertStatusAsync(HttpStatusCode.OK)).JsonAsync()).GetProperty("uri").GetString()!);

    [Fact]
    public async Task Multipart_upload_of_several_MB_has_server_computed_sha256_and_size_and_downloads_intact()
    {
        const long size = 12L * 1024 * 1024 + 123;
        var artifact = await ArtifactUploads.UploadAsync(Owner, "fw-main", "1.0.0", size);
        Assert.Equal(size, artifact.GetProperty("size").GetInt64());
        Assert.Equal(PatternStream.Sha256(size), artifact.GetProperty("sha256").GetString());
        Assert.Equal("abc", artifact.GetProperty("provides").GetProperty("rootfs.checksum").GetString());

        var url = await DownloadUrlAsync(artifact.GetProperty("id").GetString()!);
        using var download = await _storage.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        await download.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType!.MediaType);
        Assert.Equal(PatternStream.Sha256(size), Convert.ToHexStringLower(await SHA256.HashDataAsync(await download.Content.ReadAsStreamAsync())));
        Assert.Equal(PatternStream.Sha256(size), download.Headers.TryGetValues("x-ms-meta-sha256", out var meta) ? meta.Single() : null);
    }

    [Fact]
    public async Task Oversize_upload_is_413_and_leaves_nothing_behind()
    {
        var response = await Owner.PostAsync("/api/v1/artifacts", ArtifactUploads.Form("too-big", "1", new PatternStream(FleetServer.ArtifactLimitBytes + 1)));
        await response.AssertErrorAsync(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        var listed = await (await Owner.GetAsync("/api/v1/artifacts?name=too-big")).JsonAsync();
        Assert.Empty(listed.GetProperty("data").EnumerateArray());
        var container = Tenant.Server.Services.GetRequiredService<FleetStorage>().Container(ArtifactBlobs.Container);
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, Tenant.TenantId + "/", default)) Assert.Fail($"Left behind: {blob.Name}");
    }

    [Fact]
    public async Task Direct_upload_round_trip_verifies_the_stored_blob()
    {
        const long size = 3 * 1024 * 1024;
        var start = await (await (await Owner.PostAsJsonAsync("/api/v1/artifacts/uploads", new { name = "os-image", version = "2.0", kind = "os", deviceTypesCompatible = new[] { "screen", "kiosk" } }))
            .AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
        var uploadUrl = new Uri(start.GetProperty("uploadUrl").GetString()!);
        var id = start.GetProperty("uploadId").GetString()!;
        await (await Owner.PostAsync($"/api/v1/artifacts/uploads/{id}:complete", null)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");

        var put = new HttpRequestMessage(HttpMethod.Put, uploadUrl) { Content = new StreamContent(new PatternStream(size, 7)) };
        put.Headers.Add("x-ms-blob-type", "BlockBlob");
        put.Content.Headers.ContentLength = size;
        await (await _storage.SendAsync(put)).AssertStatusAsync(HttpStatusCode.Created);
        // The upload link is write-only.
        Assert.Equal(HttpStatusCode.Forbidden, (await _storage.GetAsync(uploadUrl)).StatusCode);

        var artifact = await (await (await Owner.PostAsync($"/api/v1/artifacts/uploads/{id}:complete", null)).AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
        Assert.Equal(PatternStream.Sha256(size, 7), artifact.GetProperty("sha256").GetString());
        Assert.Equal(size, artifact.GetProperty("size").GetInt64());
        await (await Owner.PostAsync($"/api/v1/artifacts/uploads/{id}:complete", null)).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await Owner.PostAsync("/api/v1/artifacts/uploads/0123456789abcdef:complete", null)).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");

        var releases = await (await Owner.GetAsync("/api/v1/releases?name=os-image")).JsonAsync();
        var release = Assert.Single(releases.GetProperty("data").EnumerateArray());
        Assert.Equal(["kiosk", "screen"], release.GetProperty("deviceTypes").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task The_upload_link_cannot_change_an_artifact_once_completed()
    {
        var start = await (await (await Owner.PostAsJsonAsync("/api/v1/artifacts/uploads", new { name = "sealed", version = "1.0", kind = "firmware", deviceTypesCompatible = new[] { "screen" } }))
            .AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
        var uploadUrl = new Uri(start.GetProperty("uploadUrl").GetString()!);
        var id = start.GetProperty("uploadId").GetString()!;
        await PutAsync(uploadUrl, 64 * 1024, 1);
        var artifact = await (await (await Owner.PostAsync($"/api/v1/artifacts/uploads/{id}:complete", null)).AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
        Assert.Equal(PatternStream.Sha256(64 * 1024, 1), artifact.GetProperty("sha256").GetString());

        // The link is still within its hour; whatever it writes now does not reach the artifact devices download.
        await PutAsync(uploadUrl, 64 * 1024, 2);
        var download = await _storage.GetByteArrayAsync(await DownloadUrlAsync(id));
        Assert.Equal(PatternStream.Sha256(64 * 1024, 1), Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(download)));
    }

    [Fact]
    public async Task A_repeated_upload_start_gets_the_same_upload_with_a_fresh_link_and_no_link_is_stored()
    {
        async Task<System.Text.Json.JsonElement> StartAsync(string key)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/artifacts/uploads")
            {
                Content = JsonContent.Create(new { name = "idem-upload", version = "1.0", kind = "app", deviceTypesCompatible = new[] { "screen" } }),
            };
            request.Headers.Add("Idempotency-Key", key);
            return await (await (await Owner.SendAsync(request)).AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
        }
        var key = Guid.NewGuid().ToString();
        var first = await StartAsync(key);
        var again = await StartAsync(key);
        Assert.Equal(first.GetProperty("uploadId").GetString(), again.GetProperty("uploadId").GetString());
        await PutAsync(new Uri(again.GetProperty("uploadUrl").GetString()!), 1024, 3);

        // The replay store holds the upload's id, not its write link.
        var stored = Tenant.Server.Services.GetRequiredService<FleetStorage>().Table(ServerlessFleet.Shared.Idempotency.IdempotencyStore.TableName)
            .QueryAsync<Azure.Data.Tables.TableEntity>(e => e.PartitionKey == Tenant.TenantId);
        var bodies = new List<string>();
        await foreach (var row in stored) bodies.Add(row.GetString("Body") ?? "");
        Assert.Contains(bodies, b => b.Contains(first.GetProperty("uploadId").GetString()!));
        Assert.DoesNotContain(bodies, b => b.Contains("sig=") || b.Contains("uploadUrl"));
    }

    private async Task PutAsync(Uri uploadUrl, long size, int seed)
    {
        var put = new HttpRequestMessage(HttpMethod.Put, uploadUrl) { Content = new StreamContent(new PatternStream(size, seed)) };
        put.Headers.Add("x-ms-blob-type", "BlockBlob");
        put.Content.Headers.ContentLength = size;
        await (await _storage.SendAsync(put)).AssertStatusAsync(HttpStatusCode.Created);
    }

    public static TheoryData<string, string> MalformedForms()
    {
        const string part = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fw.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n";
        var manyHeaders = "--b\r\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"X-H{i}: v\r\n")) + "\r\n" + "data\r\n--b--\r\n";
        return new TheoryData<string, string>
        {
            { "garbage", "b" },
            { "", "b" },
            { part + "0123456789\r\n--b--\r\n", "other-boundary" },
            { part + "0123456789", "b" },
            { part + "0123456789\r\n--b\r\n", "b" },
            { "--b\r\nno colon in this header\r\n\r\nvalue\r\n--b--\r\n", "b" },
            { manyHeaders, "b" },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedForms))]
    public async Task A_malformed_multipart_body_is_400(string body, string boundary)
    {
        var content = new ByteArrayContent(System.Text.Encoding.ASCII.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", $"multipart/form-data; boundary={boundary}");
        await (await Owner.PostAsync("/api/v1/artifacts", content)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task Expired_upload_link_is_refused_by_storage()
    {
        var started = DateTimeOffset.UtcNow;
        var start = await (await Owner.PostAsJsonAsync("/api/v1/artifacts/uploads", new { name = "late", version = "1", kind = "app", deviceTypesCompatible = new[] { "screen" }, expiresInSeconds = 1 })).JsonAsync();
        Assert.InRange(start.GetProperty("expiresAt").GetDateTimeOffset(), started, DateTimeOffset.UtcNow.AddSeconds(1));
        var uploadId = start.GetProperty("uploadId").GetString()!;

        // The same link for the same upload, signed by the app's own code on a clock an hour behind: expired long ago.
        var expired = await BlobsSignedAt(DateTimeOffset.UtcNow.AddHours(-1)).StagingWriteUrlAsync(Tenant.TenantId, uploadId, TimeSpan.FromSeconds(1), default);
        Assert.Equal(HttpStatusCode.Forbidden, (await PutBlockBlobAsync(expired.Uri)).StatusCode);
        var fresh = await BlobsSignedAt(DateTimeOffset.UtcNow).StagingWriteUrlAsync(Tenant.TenantId, uploadId, TimeSpan.FromMinutes(1), default);
        Assert.Equal(HttpStatusCode.Created, (await PutBlockBlobAsync(fresh.Uri)).StatusCode);
    }

    private Task<HttpResponseMessage> PutBlockBlobAsync(Uri url)
    {
        var put = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent([1, 2, 3]) };
        put.Headers.Add("x-ms-blob-type", "BlockBlob");
        return _storage.SendAsync(put);
    }

    /// <summary>The app's link signing with its clock at <paramref name="now"/>: time is an input, so expiry is shown without waiting for it.</summary>
    private ArtifactBlobs BlobsSignedAt(DateTimeOffset now)
    {
        var services = Tenant.Server.Services;
        var storage = services.GetRequiredService<FleetStorage>();
        var links = new BlobLinks(storage, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(now),
            services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ServerlessFleet.Shared.FleetOptions>>());
        return new ArtifactBlobs(storage, links);
    }

    [Fact]
    public async Task Download_link_is_read_only_supports_range_and_expires()
    {
        var artifact = await ArtifactUploads.UploadAsync(Owner, "ranged", "1", 100_000, 3);
        var id = artifact.GetProperty("id").GetString()!;
        var url = await DownloadUrlAsync(id);

        var range = new HttpRequestMessage(HttpMethod.Get, url);
        range.Headers.Range = new RangeHeaderValue(1000, 1009);
        var partial = await _storage.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(Enumerable.Range(1000, 10).Select(i => PatternStream.ByteAt(i, 3)), await partial.Content.ReadAsByteArrayAsync());

        var overwrite = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent([0]) };
        overwrite.Headers.Add("x-ms-blob-type", "BlockBlob");
        Assert.Equal(HttpStatusCode.Forbidden, (await _storage.SendAsync(overwrite)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _storage.DeleteAsync(url)).StatusCode);

        var issued = DateTimeOffset.UtcNow;
        var shortLived = await (await Owner.GetAsync($"/api/v1/artifacts/{id}/download?expiresInSeconds=1")).JsonAsync();
        Assert.InRange(shortLived.GetProperty("expiresAt").GetDateTimeOffset(), issued, DateTimeOffset.UtcNow.AddSeconds(1));
        var expired = await BlobsSignedAt(DateTimeOffset.UtcNow.AddHours(-1)).ReadUrlAsync(Tenant.TenantId, id, TimeSpan.FromSeconds(1), default);
        Assert.Equal(HttpStatusCode.Forbidden, (await _storage.GetAsync(expired.Uri)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _storage.GetAsync(url)).StatusCode);
    }

    [Fact]
    public async Task Duplicate_name_version_and_device_type_is_409()
    {
        await ArtifactUploads.UploadAsync(Owner, "dup", "1", 10, 1, "screen", "kiosk");
        var again = await Owner.PostAsync("/api/v1/artifacts", ArtifactUploads.Form("dup", "1", new PatternStream(10), "firmware", "kiosk"));
        await again.AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await Owner.PostAsJsonAsync("/api/v1/artifacts/uploads", new { name = "dup", version = "1", kind = "firmware", deviceTypesCompatible = new[] { "screen" } }))
            .AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        // Another device type of the same release is fine.
        await ArtifactUploads.UploadAsync(Owner, "dup", "1", 10, 1, "watch");
        var list = await (await Owner.GetAsync("/api/v1/artifacts?name=dup&deviceType=watch")).JsonAsync();
        Assert.Single(list.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task Bad_metadata_is_a_field_precise_400()
    {
        var form = ArtifactUploads.Form("ok-name", "1", new PatternStream(10), "bootloader");
        var error = await (await Owner.PostAsync("/api/v1/artifacts", form)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.True(error.GetProperty("errors").TryGetProperty("kind", out _));
        await (await Owner.PostAsJsonAsync("/api/v1/artifacts", new { name = "x" })).AssertErrorAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task OtherTenants_cannot_see_or_sign_into_each_others_artifacts()
    {
        var mine = await ArtifactUploads.UploadAsync(Owner, "private", "1", 1000, 5);
        var other = await Tenant.Server.CreateTenantAsync("art-other");
        using var otherClient = other.OwnerClient();
        var id = mine.GetProperty("id").GetString()!;
        await (await otherClient.GetAsync($"/api/v1/artifacts/{id}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await otherClient.GetAsync($"/api/v1/artifacts/{id}/download")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await otherClient.DeleteAsync($"/api/v1/artifacts/{id}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");

        // A link to the other tenant's own artifact, pointed at this tenant's blob, is refused by storage.
        var theirs = await ArtifactUploads.UploadAsync(otherClient, "theirs", "1", 1000, 6);
        var theirUrl = new Uri((await (await otherClient.GetAsync($"/api/v1/artifacts/{theirs.GetProperty("id").GetString()}/download")).JsonAsync()).GetProperty("uri").GetString()!);
        var forged = new UriBuilder(theirUrl) { Path = theirUrl.AbsolutePath.Replace($"{other.TenantId}/{theirs.GetProperty("id").GetString()}", $"{Tenant.TenantId}/{id}") }.Uri;
        Assert.NotEqual(theirUrl, forged);
        Assert.Equal(HttpStatusCode.Forbidden, (await _storage.GetAsync(forged)).StatusCode);
    }

    [Fact]
    public async Task Registry_read_can_read_but_not_upload_or_delete()
    {
        var artifact = await ArtifactUploads.UploadAsync(Owner, "scoped", "1", 10);
        using var reader = Tenant.Server.Client(await Tenant.CreateKeyAsync("registry:read"));
        await (await reader.GetAsync($"/api/v1/artifacts/{artifact.GetProperty("id").GetString()}/download")).AssertStatusAsync(HttpStatusCode.OK);
        await (await reader.PostAsync("/api/v1/artifacts", ArtifactUploads.Form("scoped", "2", new PatternStream(10)))).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await reader.DeleteAsync($"/api/v1/artifacts/{artifact.GetProperty("id").GetString()}")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await Owner.DeleteAsync($"/api/v1/artifacts/{artifact.GetProperty("id").GetString()}")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await Owner.GetAsync($"/api/v1/artifacts/{artifact.GetProperty("id").GetString()}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }
}

/// <summary>
/// Streaming, shown by where the bytes are rather than by sampling a heap: the file is held back near its end until
/// storage already has blocks of it. A server that buffered the request (in memory or on disk) stages nothing before
/// the last byte arrives, so the upload stalls and the test fails.
/// </summary>
public sealed class ArtifactStreamingTests() : TenantScopedTests("stream")
{
    [Fact]
    public async Task Upload_reaches_storage_before_the_file_has_been_sent()
    {
        const long size = 39L * 1024 * 1024;
        const long heldBackAt = 35L * 1024 * 1024;
        var container = Tenant.Server.Services.GetRequiredService<FleetStorage>().Container(ArtifactBlobs.Container);
        var stagedBeforeTheEnd = false;
        var file = new HeldBackStream(new PatternStream(size), heldBackAt, async () =>
            stagedBeforeTheEnd = await HasStagedBlocksAsync(container, Tenant.TenantId + "/", TimeSpan.FromSeconds(30)));

        var response = await Owner.PostAsync("/api/v1/artifacts", ArtifactUploads.Form("big", "1", file));

        var artifact = await (await response.AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
        Assert.Equal(size, artifact.GetProperty("size").GetInt64());
        Assert.Equal(PatternStream.Sha256(size), artifact.GetProperty("sha256").GetString());
        Assert.True(stagedBeforeTheEnd, $"No block of the file reached storage while its last {(size - heldBackAt) / 1024 / 1024} MB were held back: the upload is buffered.");
    }

    private static async Task<bool> HasStagedBlocksAsync(BlobContainerClient container, string prefix, TimeSpan patience)
    {
        var until = DateTime.UtcNow + patience;
        while (DateTime.UtcNow < until)
        {
            await foreach (var _ in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.Uncommitted, prefix, default)) return true;
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>Passes <paramref name="inner"/> through, pausing once at <paramref name="at"/> bytes until <paramref name="release"/> completes.</summary>
    private sealed class HeldBackStream(Stream inner, long at, Func<Task> release) : Stream
    {
        private long _position;
        private bool _released;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (!_released && _position >= at)
            {
                _released = true;
                await release();
            }
            var limit = _released ? buffer.Length : (int)Math.Min(buffer.Length, at - _position);
            var n = await inner.ReadAsync(buffer[..limit], ct);
            _position += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, default).GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
