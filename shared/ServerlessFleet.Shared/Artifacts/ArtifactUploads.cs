using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Mender;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Artifacts;

/// <summary>A file as stored while its upload was read: what the server computed of it.</summary>
public sealed record StoredFile(string Sha256, long Size, string ContentType, string? FileName);

/// <summary>Stores the file part of an upload form as it streams in (hashed and counted against the size limit).</summary>
public delegate Task<StoredFile> ArtifactFileSink(Stream content, string contentType, string? fileName, CancellationToken ct);

/// <summary>An upload form once read: its text fields (a field may repeat) and the one file it carried.</summary>
public sealed record ArtifactForm(IReadOnlyDictionary<string, List<string>> Fields, StoredFile? File);

public sealed record StartUploadRequest(string? Name, string? Version, string? Kind, List<string>? DeviceTypesCompatible, string? Description,
    JsonNode? Provides, JsonNode? Depends, string? FileName, string? ContentType, int? ExpiresInSeconds);

/// <summary>An artifact as the API shows it and the audit log records it.</summary>
public sealed record ArtifactResponse(string Id, string Name, string Version, string Kind, IReadOnlyList<string> DeviceTypesCompatible,
    string? Description, JsonObject Provides, JsonObject Depends, long Size, string Sha256, string ContentType, string? FileName, DateTimeOffset CreatedAt)
{
    public static ArtifactResponse From(Artifact a) => new(a.Id, a.Metadata.Name, a.Metadata.Version, a.Metadata.Kind, a.Metadata.DeviceTypesCompatible,
        a.Metadata.Description, a.Metadata.Provides, a.Metadata.Depends, a.Size, a.Sha256, a.ContentType, a.FileName, a.CreatedAt);
}

public sealed record UploadResponse(string UploadId, Uri UploadUrl, DateTimeOffset ExpiresAt);

/// <summary>
/// Putting artifacts into the registry, for every transport: a form upload streamed through the server, or a direct
/// upload to a write-only link that is registered when completed. The server computes every hash and size it records;
/// a refused or failed upload leaves nothing behind.
/// </summary>
public sealed class ArtifactUploads(ArtifactStore store, ArtifactBlobs blobs, AuditLog audit, IOptions<FleetOptions> options, TimeProvider clock)
{
    public static readonly TimeSpan DefaultUploadLinkLifetime = TimeSpan.FromHours(1);

    /// <summary>Registers the artifact a form carries; <paramref name="readForm"/> reads the form, storing its file through the sink it is given.</summary>
    public async Task<Artifact> UploadAsync(Actor actor, Func<ArtifactFileSink, CancellationToken, Task<ArtifactForm>> readForm, CancellationToken ct)
    {
        var id = store.NewId();
        try
        {
            var form = await readForm((content, contentType, fileName, token) => StoreAsync(actor.TenantId, id, content, contentType, fileName, token), ct);
            if (form.File is not { } file) throw FleetException.Validation("file", "The form has no file part.");
            var metadata = await MetadataAsync(actor.TenantId, id, form.Fields, file, ct);
            var artifact = await store.RegisterAsync(new Artifact(id, actor.TenantId, metadata, file.Size, file.Sha256, file.ContentType, file.FileName, clock.GetUtcNow()), ct);
            await blobs.SetDetailsAsync(actor.TenantId, id, file.Sha256, file.ContentType, ct);
            await audit.RecordAsync(actor, "artifact.create", "artifact", id, null, ArtifactResponse.From(artifact), ct);
            return artifact;
        }
        catch
        {
            // Nothing is left behind by a refused upload, not even the blocks of a file that was never committed.
            await blobs.DiscardAsync(actor.TenantId, id, CancellationToken.None);
            throw;
        }
    }

    private async Task<StoredFile> StoreAsync(string tenantId, string id, Stream content, string contentType, string? fileName, CancellationToken ct)
    {
        await using var hashing = new HashingStream(content, options.Value.MaxArtifactBytes);
        await blobs.UploadAsync(tenantId, id, hashing, contentType, ct);
        return new StoredFile(hashing.Sha256Hex(), hashing.BytesRead, contentType, fileName);
    }

    /// <summary>A file that says it is a Mender Artifact must be one: its metadata and checksums come from it; other files carry theirs in the form.</summary>
    private async Task<ArtifactMetadata> MetadataAsync(string tenantId, string id, IReadOnlyDictionary<string, List<string>> fields, StoredFile file, CancellationToken ct)
    {
        string? First(string name) => fields.GetValueOrDefault(name)?.FirstOrDefault();
        var deviceTypes = fields.GetValueOrDefault("deviceTypesCompatible")?.SelectMany(v => v.Split(',')).ToList();
        if (!MenderArtifactReader.IsDeclared(file.FileName, file.ContentType))
            return ArtifactRules.Validate(First("name"), First("version"), First("kind"), deviceTypes, First("description"), Json(First, "provides"), Json(First, "depends"));
        MenderArtifactInfo info;
        await using (var content = await blobs.OpenReadAsync(tenantId, id, ct))
        {
            try { info = await MenderArtifactReader.ReadAsync(content, ct); }
            catch (MenderArtifactException e) { throw FleetException.Validation("file", e.Message); }
        }
        return MenderArtifactMetadata.From(info, First("name"), First("version"), First("kind"), deviceTypes, First("description"), Json(First, "provides"), Json(First, "depends"));
    }

    private static JsonNode? Json(Func<string, string?> field, string name)
    {
        if (field(name) is not { Length: > 0 } text) return null;
        try { return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException) { throw FleetException.Validation(name, $"{name} must be a JSON object."); }
    }

    /// <summary>Opens a direct upload: a write-only link to a staging blob that only <see cref="CompleteAsync"/> turns into an artifact.</summary>
    public async Task<UploadResponse> StartAsync(Actor actor, StartUploadRequest request, CancellationToken ct)
    {
        var lifetime = UploadLinkLifetime(request.ExpiresInSeconds);
        var metadata = ArtifactRules.Validate(request.Name, request.Version, request.Kind, request.DeviceTypesCompatible, request.Description, request.Provides, request.Depends);
        await store.EnsureUniqueAsync(actor.TenantId, metadata, ct);
        var id = store.NewId();
        var url = await blobs.StagingWriteUrlAsync(actor.TenantId, id, lifetime, ct);
        await store.SaveUploadAsync(new PendingUpload(id, actor.TenantId, metadata, request.FileName, request.ContentType ?? "application/octet-stream", url.ExpiresAt), ct);
        await audit.RecordAsync(actor, "artifact.upload.start", "artifactUpload", id, null, new { metadata.Name, metadata.Version }, ct);
        return new UploadResponse(id, url.Uri, url.ExpiresAt);
    }

    /// <summary>The same open upload with a freshly signed link (a repeated start): links are credentials and are never stored.</summary>
    public async Task<UploadResponse> RenewLinkAsync(string tenantId, string uploadId, StartUploadRequest request, CancellationToken ct)
    {
        var lifetime = UploadLinkLifetime(request.ExpiresInSeconds);
        var open = await store.FindUploadAsync(tenantId, uploadId, ct)
            ?? throw FleetException.Conflict($"Upload {uploadId} of this Idempotency-Key is already completed or expired.");
        var fresh = await blobs.StagingWriteUrlAsync(tenantId, open.Id, lifetime, ct);
        return new UploadResponse(open.Id, fresh.Uri, fresh.ExpiresAt);
    }

    /// <summary>Registers what was uploaded to the link: copied server-side to the artifact's own blob, which no link can write, and hashed there.</summary>
    public async Task<Artifact> CompleteAsync(Actor actor, string uploadId, CancellationToken ct)
    {
        var tenantId = actor.TenantId;
        var upload = await store.FindUploadAsync(tenantId, uploadId, ct) ?? throw FleetException.NotFound("Upload", uploadId);
        if (!await blobs.IsStagedAsync(tenantId, uploadId, ct)) throw FleetException.Validation("uploadId", "Nothing was uploaded to the upload URL yet.");
        await blobs.PromoteAsync(tenantId, uploadId, uploadId, ct);
        string sha256;
        long size;
        try
        {
            (sha256, size) = await blobs.HashAsync(tenantId, uploadId, options.Value.MaxArtifactBytes, ct);
        }
        catch (FleetException e) when (e.Category == ErrorCategory.PayloadTooLarge)
        {
            await RemoveUploadAsync(tenantId, uploadId, CancellationToken.None);
            throw;
        }
        var artifact = await store.RegisterAsync(new Artifact(uploadId, tenantId, upload.Metadata, size, sha256, upload.ContentType, upload.FileName, clock.GetUtcNow()), ct);
        await blobs.SetDetailsAsync(tenantId, uploadId, sha256, upload.ContentType, ct);
        await blobs.DeleteStagedAsync(tenantId, uploadId, ct);
        await store.DeleteUploadAsync(tenantId, uploadId, ct);
        await audit.RecordAsync(actor, "artifact.create", "artifact", uploadId, null, ArtifactResponse.From(artifact), ct);
        return artifact;
    }

    /// <summary>Removes direct uploads whose link expired an hour ago without being completed, with their blobs.</summary>
    public async Task<int> RemoveAbandonedAsync(CancellationToken ct)
    {
        var abandoned = await store.AbandonedUploadsAsync(clock.GetUtcNow().AddHours(-1), ct);
        foreach (var upload in abandoned) await RemoveUploadAsync(upload.TenantId, upload.Id, ct);
        return abandoned.Count;
    }

    /// <summary>Both blobs: a crash between the copy and the registration leaves the copy behind too.</summary>
    private async Task RemoveUploadAsync(string tenantId, string uploadId, CancellationToken ct)
    {
        await blobs.DeleteStagedAsync(tenantId, uploadId, ct);
        await blobs.DeleteAsync(tenantId, uploadId, ct);
        await store.DeleteUploadAsync(tenantId, uploadId, ct);
    }

    public static TimeSpan UploadLinkLifetime(int? seconds) => LinkLifetime(seconds, DefaultUploadLinkLifetime, "expiresInSeconds");

    public static TimeSpan LinkLifetime(int? seconds, TimeSpan fallback, string field) => seconds switch
    {
        null => fallback,
        >= 1 and <= 86_400 => TimeSpan.FromSeconds(seconds.Value),
        _ => throw FleetException.Validation(field, $"{field} is 1 to 86400."),
    };
}
