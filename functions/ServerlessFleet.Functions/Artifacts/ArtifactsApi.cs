using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Artifacts;

/// <summary>The multipart form of an upload (streamed section by section, so described here rather than bound); the file part comes last.</summary>
public sealed record ArtifactUploadForm(string Name, string Version, string Kind, string DeviceTypesCompatible, string? Description,
    string? Provides, string? Depends, IFormFile File);

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

    private static async Task<Created<ArtifactResponse>> UploadAsync(HttpContext context, ArtifactUploads uploads, Auditor audit, IOptions<FleetOptions> options,
        CancellationToken ct)
    {
        // Room for the multipart framing and form fields around the file; the file itself is counted exactly as it is stored.
        if (context.Features.Get<RequestBodyLimit>() is { } size) size.Bytes = options.Value.MaxArtifactBytes + 1024 * 1024;
        var artifact = await uploads.UploadAsync(audit.Actor(), (sink, token) => ArtifactUploadForms.ReadAsync(context, sink, token), ct);
        return TypedResults.Created($"/api/v1/artifacts/{artifact.Id}", ArtifactResponse.From(artifact));
    }

    /// <summary>
    /// The write link is a credential: the idempotency store keeps only the upload id, and a repeat with the same key
    /// gets the same upload with a freshly signed link (while the upload is still open).
    /// </summary>
    private static async Task<Created<UploadResponse>> StartUploadAsync(StartUploadRequest request, HttpContext context, Caller caller, ArtifactUploads uploads,
        Auditor audit, CancellationToken ct)
    {
        var upload = context.Features.Get<IdempotentReplay>() is { } replay
            ? await uploads.RenewLinkAsync(caller.TenantId, JsonSerializer.Deserialize<StoredUpload>(replay.First.Body, JsonSerializerOptions.Web)!.UploadId, request, ct)
            : await uploads.StartAsync(audit.Actor(), request, ct);
        if (context.Features.Get<IdempotentRecord>() is { } record) record.Body = JsonSerializer.Serialize(new StoredUpload(upload.UploadId), JsonSerializerOptions.Web);
        return TypedResults.Created($"/api/v1/artifacts/uploads/{upload.UploadId}", upload);
    }

    private sealed record StoredUpload(string UploadId);

    private static async Task<Created<ArtifactResponse>> CompleteUploadAsync(string uploadId, ArtifactUploads uploads, Auditor audit, CancellationToken ct)
    {
        var artifact = await uploads.CompleteAsync(audit.Actor(), uploadId, ct);
        return TypedResults.Created($"/api/v1/artifacts/{artifact.Id}", ArtifactResponse.From(artifact));
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
        var link = await blobs.ReadUrlAsync(caller.TenantId, artifact.Id, ArtifactUploads.LinkLifetime(expiresInSeconds, TimeSpan.FromMinutes(options.Value.DownloadUrlMinutes), "expiresInSeconds"), ct);
        return TypedResults.Ok(new DownloadResponse(link.Uri, link.ExpiresAt));
    }

    private static async Task<NoContent> DeleteAsync(string id, ArtifactRemoval removal, Auditor audit, CancellationToken ct)
    {
        await removal.DeleteAsync(audit.Actor(), id, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<PagedResponse<ReleaseResponse>>> ReleasesAsync(string? name, Caller caller, ArtifactStore store, CancellationToken ct)
    {
        var releases = await store.ReleasesAsync(caller.TenantId, name, ct);
        return TypedResults.Ok(new PagedResponse<ReleaseResponse>(
            releases.Select(r => new ReleaseResponse(r.Name, r.Version, r.DeviceTypes, r.Artifacts.Select(ArtifactResponse.From).ToList())).ToList(), null, null));
    }
}

/// <summary>Removes direct uploads whose link expired an hour ago without being completed, with their blobs.</summary>
public sealed class ArtifactUploadCleanup(ArtifactUploads uploads)
{
    [Function(nameof(ArtifactUploadCleanup))]
    public Task RunAsync([TimerTrigger("0 */30 * * * *")] TimerInfo timer, CancellationToken ct) => uploads.RemoveAbandonedAsync(ct);
}
