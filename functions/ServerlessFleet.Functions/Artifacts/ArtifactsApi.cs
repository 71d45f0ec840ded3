using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Mender;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Artifacts;

public sealed record ArtifactResponse(string Id, string Name, string Version, string Kind, IReadOnlyList<string> DeviceTypesCompatible,
    string? Description, JsonObject Provides, JsonObject Depends, long Size, string Sha256, string ContentType, string? FileName, DateTimeOffset CreatedAt)
{
    public static ArtifactResponse From(Artifact a) => new(a.Id, a.Metadata.Name, a.Metadata.Version, a.Metadata.Kind, a.Metadata.DeviceTypesCompatible,
        a.Metadata.Description, a.Metadata.Provides, a.Metadata.Depends, a.Size, a.Sha256, a.ContentType, a.FileName, a.CreatedAt);
}

public sealed record StartUploadRequest(string? Name, string? Version, string? Kind, List<string>? DeviceTypesCompatible, string? Description,
    JsonNode? Provides, JsonNode? Depends, string? FileName, string? ContentType, int? ExpiresInSeconds);

/// <summary>The multipart form of an upload (streamed section by section, so described here rather than bound); the file part comes last.</summary>
public sealed record ArtifactUploadForm(string Name, string Version, string Kind, string DeviceTypesCompatible, string? Description,
    string? Provides, string? Depends, IFormFile File);

public sealed record UploadResponse(string UploadId, Uri UploadUrl, DateTimeOffset ExpiresAt);
public sealed record DownloadResponse(Uri Uri, DateTimeOffset ExpiresAt);
public sealed record ReleaseResponse(string Name, string Version, IReadOnlyList<string> DeviceTypes, IReadOnlyList<ArtifactResponse> Artifacts);

/// <summary>The artifact registry (API.md §2 "Artifacts and releases"): registry:read to read, registry:admin to write.</summary>
public static class ArtifactsApi
{
    [Function("UploadArtifact"), Tags("Artifacts"), Accepts<ArtifactUploadForm>("multipart/form-data"), ProducesResponseType<ArtifactResponse>(201), ProducesResponseType<ErrorBody>(409), ProducesResponseType<ErrorBody>(413), RequireScope(Scopes.RegistryAdmin), HandledBy(nameof(UploadAsync))]
    [EndpointSummary("multipart/form-data: fields name, version, kind, deviceTypesCompatible (repeatable or comma-separated), description, provides, depends (JSON), then the file part; streamed to Blob, sha256 and size computed by the server")]
    public static Task<IResult> UploadArtifact([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/artifacts")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("StartArtifactUpload"), Tags("Artifacts"), RequireScope(Scopes.RegistryAdmin), AcceptIdempotencyKey(ReplayThroughHandler = true), HandledBy(nameof(StartUploadAsync))]
    [EndpointSummary("Direct upload of a large file: returns a write-only SAS URL to PUT the file (or its blocks) to Blob storage (Idempotency-Key honoured)")]
    public static Task<IResult> StartArtifactUpload([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/artifacts/uploads")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("CompleteArtifactUpload"), Tags("Artifacts"), RequireScope(Scopes.RegistryAdmin), HandledBy(nameof(CompleteUploadAsync))]
    [EndpointSummary("Registers an uploaded file after computing its sha256 and size from the stored blob")]
    public static Task<IResult> CompleteArtifactUpload([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/artifacts/uploads/{uploadId}:complete")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ListArtifacts"), Tags("Artifacts"), RequireScope(Scopes.RegistryRead), HandledBy(nameof(ListAsync))]
    [EndpointSummary("Artifacts (filters name, version, kind, deviceType), oldest first")]
    public static Task<IResult> ListArtifacts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/artifacts")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetArtifact"), Tags("Artifacts"), RequireScope(Scopes.RegistryRead), HandledBy(nameof(GetAsync))]
    [EndpointSummary("An artifact")]
    public static Task<IResult> GetArtifact([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/artifacts/{id}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("DownloadArtifact"), Tags("Artifacts"), RequireScope(Scopes.RegistryRead), HandledBy(nameof(DownloadAsync))]
    [EndpointSummary("A short-lived read-only SAS link (default 15 minutes; ?expiresInSeconds= 1-86400); Range requests work on it")]
    public static Task<IResult> DownloadArtifact([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/artifacts/{id}/download")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("DeleteArtifact"), Tags("Artifacts"), RequireScope(Scopes.RegistryAdmin), HandledBy(nameof(DeleteAsync))]
    [EndpointSummary("Delete an artifact (409 while an active deployment uses it)")]
    public static Task<IResult> DeleteArtifact([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/artifacts/{id}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ListReleases"), Tags("Artifacts"), RequireScope(Scopes.RegistryRead), HandledBy(nameof(ReleasesAsync))]
    [EndpointSummary("Artifacts grouped by name + version, with their device types (filter name)")]
    public static Task<IResult> ListReleases([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/releases")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<Created<ArtifactResponse>> UploadAsync(HttpContext context, Caller caller, ArtifactStore store, ArtifactBlobs blobs,
        IOptions<FleetOptions> options, Auditor audit, TimeProvider clock, CancellationToken ct)
    {
        var limit = options.Value.MaxArtifactBytes;
        // Room for the multipart framing and form fields around the file; the file itself is counted exactly below.
        if (context.Features.Get<RequestBodyLimit>() is { } size) size.Bytes = limit + 1024 * 1024;
        var boundary = Boundary(context.Request.ContentType);
        var id = store.NewId();
        var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        (string Sha256, long Size, string ContentType, string? FileName)? file = null;
        try
        {
            var reader = new MultipartReader(boundary, context.Request.Body) { HeadersCountLimit = 16, HeadersLengthLimit = 8 * 1024 };
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
                if (disposition.IsFileDisposition())
                {
                    if (file is not null) throw FleetException.Validation("file", "Send exactly one file.");
                    var contentType = section.ContentType ?? "application/octet-stream";
                    await using var hashing = new HashingStream(section.Body, limit);
                    await blobs.UploadAsync(caller.TenantId, id, hashing, contentType, ct);
                    file = (hashing.Sha256Hex(), hashing.BytesRead, contentType, disposition.FileName.Value?.Trim('"'));
                }
                else if (disposition.Name.Value is { } name)
                {
                    using var text = new StreamReader(section.Body);
                    var value = await text.ReadToEndAsync(ct);
                    if (value.Length > 16 * 1024) throw FleetException.Validation(name, "Form fields are at most 16 KB.");
                    if (!fields.TryGetValue(name, out var list)) fields[name] = list = [];
                    list.Add(value);
                }
            }
            if (file is not { } stored) throw FleetException.Validation("file", "The form has no file part.");
            var deviceTypes = fields.GetValueOrDefault("deviceTypesCompatible")?.SelectMany(v => v.Split(',')).ToList();
            var metadata = MenderArtifactReader.IsDeclared(stored.FileName, stored.ContentType)
                ? MenderArtifactMetadata.From(await ReadMenderAsync(blobs, caller.TenantId, id, ct), First(fields, "name"), First(fields, "version"), First(fields, "kind"),
                    deviceTypes, First(fields, "description"), Json(fields, "provides"), Json(fields, "depends"))
                : ArtifactRules.Validate(First(fields, "name"), First(fields, "version"), First(fields, "kind"), deviceTypes, First(fields, "description"),
                    Json(fields, "provides"), Json(fields, "depends"));
            var artifact = await store.RegisterAsync(new Artifact(id, caller.TenantId, metadata, stored.Size, stored.Sha256, stored.ContentType, stored.FileName, clock.GetUtcNow()), ct);
            await blobs.SetDetailsAsync(caller.TenantId, id, stored.Sha256, stored.ContentType, ct);
            await audit.RecordAsync("artifact.create", "artifact", id, null, ArtifactResponse.From(artifact), ct);
            return TypedResults.Created($"/api/v1/artifacts/{id}", ArtifactResponse.From(artifact));
        }
        catch (Exception e) when (Malformed(e, context))
        {
            await blobs.DiscardAsync(caller.TenantId, id, CancellationToken.None);
            throw FleetException.Validation("body", $"The multipart body is malformed: {e.Message}");
        }
        catch
        {
            // Nothing is left behind by a refused upload, not even the blocks of a file that was never committed.
            await blobs.DiscardAsync(caller.TenantId, id, CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// The multipart reader reports a broken body (no boundary, a part cut short, bad or too many part headers) as
    /// <see cref="InvalidDataException"/> or <see cref="IOException"/>; the latter is the client's fault unless the client went away.
    /// </summary>
    private static bool Malformed(Exception e, HttpContext context) =>
        e is InvalidDataException || (e is IOException && !context.RequestAborted.IsCancellationRequested && e is not BadHttpRequestException);

    /// <summary>
    /// The write link is a credential: the idempotency store keeps only the upload id, and a repeat with the same key
    /// gets the same upload with a freshly signed link (while the upload is still open).
    /// </summary>
    private static async Task<Created<UploadResponse>> StartUploadAsync(StartUploadRequest request, HttpContext context, Caller caller, ArtifactStore store,
        ArtifactBlobs blobs, Auditor audit, TimeProvider clock, CancellationToken ct)
    {
        var lifetime = Lifetime(request.ExpiresInSeconds, TimeSpan.FromHours(1), "expiresInSeconds");
        if (context.Features.Get<IdempotentReplay>() is { } replay)
        {
            var first = JsonSerializer.Deserialize<StoredUpload>(replay.First.Body, JsonSerializerOptions.Web)!;
            var open = await store.FindUploadAsync(caller.TenantId, first.UploadId, ct)
                ?? throw FleetException.Conflict($"Upload {first.UploadId} of this Idempotency-Key is already completed or expired.");
            var fresh = await blobs.StagingWriteUrlAsync(caller.TenantId, open.Id, lifetime, ct);
            return TypedResults.Created($"/api/v1/artifacts/uploads/{open.Id}", new UploadResponse(open.Id, fresh.Uri, fresh.ExpiresAt));
        }
        var metadata = ArtifactRules.Validate(request.Name, request.Version, request.Kind, request.DeviceTypesCompatible, request.Description, request.Provides, request.Depends);
        await store.EnsureUniqueAsync(caller.TenantId, metadata, ct);
        var id = store.NewId();
        var url = await blobs.StagingWriteUrlAsync(caller.TenantId, id, lifetime, ct);
        await store.SaveUploadAsync(new PendingUpload(id, caller.TenantId, metadata, request.FileName, request.ContentType ?? "application/octet-stream", url.ExpiresAt), ct);
        await audit.RecordAsync("artifact.upload.start", "artifactUpload", id, null, new { metadata.Name, metadata.Version }, ct);
        if (context.Features.Get<IdempotentRecord>() is { } record) record.Body = JsonSerializer.Serialize(new StoredUpload(id), JsonSerializerOptions.Web);
        return TypedResults.Created($"/api/v1/artifacts/uploads/{id}", new UploadResponse(id, url.Uri, url.ExpiresAt));
    }

    private sealed record StoredUpload(string UploadId);

    private static async Task<Created<ArtifactResponse>> CompleteUploadAsync(string uploadId, Caller caller, ArtifactStore store, ArtifactBlobs blobs,
        IOptions<FleetOptions> options, Auditor audit, TimeProvider clock, CancellationToken ct)
    {
        var upload = await store.FindUploadAsync(caller.TenantId, uploadId, ct) ?? throw FleetException.NotFound("Upload", uploadId);
        if (!await blobs.IsStagedAsync(caller.TenantId, uploadId, ct))
            throw FleetException.Validation("uploadId", "Nothing was uploaded to the upload URL yet.");
        // The artifact's blob is a copy no link can write; its hash is the one recorded and checked by devices.
        await blobs.PromoteAsync(caller.TenantId, uploadId, uploadId, ct);
        string sha256;
        long size;
        try
        {
            (sha256, size) = await blobs.HashAsync(caller.TenantId, uploadId, options.Value.MaxArtifactBytes, ct);
        }
        catch (FleetException e) when (e.Category == ErrorCategory.PayloadTooLarge)
        {
            await blobs.DeleteAsync(caller.TenantId, uploadId, CancellationToken.None);
            await blobs.DeleteStagedAsync(caller.TenantId, uploadId, CancellationToken.None);
            await store.DeleteUploadAsync(caller.TenantId, uploadId, CancellationToken.None);
            throw;
        }
        var artifact = await store.RegisterAsync(new Artifact(uploadId, caller.TenantId, upload.Metadata, size, sha256, upload.ContentType, upload.FileName, clock.GetUtcNow()), ct);
        await blobs.SetDetailsAsync(caller.TenantId, uploadId, sha256, upload.ContentType, ct);
        await blobs.DeleteStagedAsync(caller.TenantId, uploadId, ct);
        await store.DeleteUploadAsync(caller.TenantId, uploadId, ct);
        await audit.RecordAsync("artifact.create", "artifact", uploadId, null, ArtifactResponse.From(artifact), ct);
        return TypedResults.Created($"/api/v1/artifacts/{uploadId}", ArtifactResponse.From(artifact));
    }

    /// <summary>A file that says it is a Mender Artifact is read back from Blob and must be one: its metadata and checksums come from it.</summary>
    private static async Task<MenderArtifactInfo> ReadMenderAsync(ArtifactBlobs blobs, string tenantId, string id, CancellationToken ct)
    {
        await using var content = await blobs.OpenReadAsync(tenantId, id, ct);
        try
        {
            return await MenderArtifactReader.ReadAsync(content, ct);
        }
        catch (MenderArtifactException e)
        {
            throw FleetException.Validation("file", e.Message);
        }
    }

    private static async Task<Ok<PagedResponse<ArtifactResponse>>> ListAsync(HttpContext context, string? name, string? version, string? kind, string? deviceType,
        [AsParameters] PagingQuery paging, Caller caller, Paging pages, ArtifactStore store, CancellationToken ct)
    {
        if (kind is not null && !ArtifactRules.Kinds.Contains(kind)) throw FleetException.Validation("kind", "kind is os, firmware, app or config.");
        var page = await store.ListAsync(caller.TenantId, new ArtifactQuery(name, version, kind, deviceType), pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(ArtifactResponse.From)));
    }

    private static async Task<Ok<ArtifactResponse>> GetAsync(string id, Caller caller, ArtifactStore store, CancellationToken ct) =>
        TypedResults.Ok(ArtifactResponse.From(await store.GetAsync(caller.TenantId, id, ct)));

    private static async Task<Ok<DownloadResponse>> DownloadAsync(string id, int? expiresInSeconds, Caller caller, ArtifactStore store, ArtifactBlobs blobs,
        IOptions<FleetOptions> options, CancellationToken ct)
    {
        var artifact = await store.GetAsync(caller.TenantId, id, ct);
        var link = await blobs.ReadUrlAsync(caller.TenantId, artifact.Id, Lifetime(expiresInSeconds, TimeSpan.FromMinutes(options.Value.DownloadUrlMinutes), "expiresInSeconds"), ct);
        return TypedResults.Ok(new DownloadResponse(link.Uri, link.ExpiresAt));
    }

    private static async Task<NoContent> DeleteAsync(string id, Caller caller, ArtifactStore store, ArtifactBlobs blobs, IEnumerable<IArtifactUsage> usages,
        Auditor audit, CancellationToken ct)
    {
        var artifact = await store.GetAsync(caller.TenantId, id, ct);
        foreach (var usage in usages)
            if (await usage.IsInUseAsync(caller.TenantId, id, ct)) throw FleetException.Conflict($"Artifact '{id}' is used by an active deployment.");
        await store.DeleteAsync(artifact, ct);
        await blobs.DeleteAsync(caller.TenantId, id, ct);
        await audit.RecordAsync("artifact.delete", "artifact", id, ArtifactResponse.From(artifact), null, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<PagedResponse<ReleaseResponse>>> ReleasesAsync(string? name, Caller caller, ArtifactStore store, CancellationToken ct)
    {
        var releases = await store.ReleasesAsync(caller.TenantId, name, ct);
        return TypedResults.Ok(new PagedResponse<ReleaseResponse>(
            releases.Select(r => new ReleaseResponse(r.Name, r.Version, r.DeviceTypes, r.Artifacts.Select(ArtifactResponse.From).ToList())).ToList(), null, null));
    }

    private static TimeSpan Lifetime(int? seconds, TimeSpan fallback, string field) => seconds switch
    {
        null => fallback,
        >= 1 and <= 86_400 => TimeSpan.FromSeconds(seconds.Value),
        _ => throw FleetException.Validation(field, $"{field} is 1 to 86400."),
    };

    private static string Boundary(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || !media.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw new FleetException(ErrorCategory.UnsupportedMediaType, "Upload artifacts as multipart/form-data (or use POST /api/v1/artifacts/uploads).");
        var boundary = HeaderUtilities.RemoveQuotes(media.Boundary).Value;
        return string.IsNullOrEmpty(boundary) || boundary.Length > 200 ? throw FleetException.Validation("Content-Type", "The multipart boundary is missing.") : boundary;
    }

    private static string? First(Dictionary<string, List<string>> fields, string name) => fields.GetValueOrDefault(name)?.FirstOrDefault();

    private static JsonNode? Json(Dictionary<string, List<string>> fields, string name)
    {
        if (First(fields, name) is not { Length: > 0 } text) return null;
        try { return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException) { throw FleetException.Validation(name, $"{name} must be a JSON object."); }
    }
}

/// <summary>Removes direct uploads whose link expired an hour ago without being completed, with their blobs.</summary>
public sealed class ArtifactUploadCleanup(ArtifactStore store, ArtifactBlobs blobs, TimeProvider clock)
{
    [Function(nameof(ArtifactUploadCleanup))]
    public async Task RunAsync([TimerTrigger("0 */30 * * * *")] TimerInfo timer, CancellationToken ct)
    {
        foreach (var upload in await store.AbandonedUploadsAsync(clock.GetUtcNow().AddHours(-1), ct))
        {
            // Both: a crash between the copy and the registration leaves the copy behind too.
            await blobs.DeleteStagedAsync(upload.TenantId, upload.Id, ct);
            await blobs.DeleteAsync(upload.TenantId, upload.Id, ct);
            await store.DeleteUploadAsync(upload.TenantId, upload.Id, ct);
        }
    }
}
