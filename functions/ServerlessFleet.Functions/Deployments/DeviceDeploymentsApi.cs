using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Deployments;

/// <summary>
/// The device side of deployments (API.md §3). The poll answers from the device row its authentication already read:
/// with nothing due it costs that one point read and no write.
/// </summary>
public static class DeviceDeploymentsApi
{
    public const int MaxLogMessages = 10_000;
    public const string InboxSeqHeader = "X-Inbox-Seq";

    [Function("GetNextDeployment"), Tags("Device API"), ProducesResponseType<NextDeploymentResponse>(StatusCodes.Status200OK), ProducesResponseType(StatusCodes.Status204NoContent), RequireDevice, HandledBy(nameof(NextAsync))]
    [EndpointSummary("The deployment due for this device: 204 with X-Poll-After when none; already-installed when artifactName (and artifactVersion, when given) match; X-Inbox-Seq is the newest action in the device's inbox")]
    public static Task<IResult> GetNextDeployment([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/device/v1/deployments/next")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("PutDeploymentStatus"), Tags("Device API"), RequireDevice, HandledBy(nameof(StatusAsync))]
    [EndpointSummary("Report progress: downloading, pause_before_*, installing, rebooting, success, failure, already-installed; 409 once aborted or final")]
    public static Task<IResult> PutDeploymentStatus([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/device/v1/deployments/{id}/status")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("PutDeploymentLog"), Tags("Device API"), RequireDevice, HandledBy(nameof(LogAsync))]
    [EndpointSummary("Upload the deployment log (replaces an earlier upload; at most 10,000 messages, 1 MB)")]
    public static Task<IResult> PutDeploymentLog([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/device/v1/deployments/{id}/log")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<IResult> NextAsync(string? artifactName, string? artifactVersion, string? deviceType, HttpContext context, DeviceCaller caller,
        DeploymentService deployments, ArtifactBlobs blobs, IOptions<FleetOptions> options, CancellationToken ct)
    {
        var (offer, pollAfter) = await OfferAsync(caller, artifactName, artifactVersion, deviceType, deployments, blobs, options.Value, ct);
        context.Response.Headers["X-Poll-After"] = pollAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The newest action in the device's inbox, from the row authentication read: a device reads its inbox only
        // when this passes what it has seen, which halves a quiet fleet's requests.
        context.Response.Headers[InboxSeqHeader] = caller.Principal.Device.InboxSeq.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return offer is null ? TypedResults.NoContent() : TypedResults.Ok(offer);
    }

    /// <summary>
    /// The poll's decision, shared by the native and the Mender-compatible routes: the deployment to offer, or none
    /// with the seconds until the next poll (0 when a deployment was just settled and another may be waiting).
    /// </summary>
    internal static async Task<(NextDeploymentResponse? Offer, int PollAfter)> OfferAsync(DeviceCaller caller, string? artifactName, string? artifactVersion,
        string? deviceType, DeploymentService deployments, ArtifactBlobs blobs, FleetOptions options, CancellationToken ct)
    {
        var device = caller.Principal.Device;
        // Nothing queued: this poll costs one read (the row, read by authentication); a started deployment is checked against its record.
        if (device.Deployments.Current is null || await deployments.CurrentAsync(device, ct) is not { } slot)
            return (null, PollIntervals.Next(options, deploymentPending: device.Deployments.Waiting.Count > 0, Random.Shared, device.InvalidReports));
        var artifact = slot.Artifact;
        var installed = !slot.ForceInstall && artifactName == artifact.Name && (artifactVersion ?? artifact.Version) == artifact.Version;
        var compatible = deviceType is null || artifact.DeviceTypes.Contains(deviceType, StringComparer.Ordinal);
        if (installed || !compatible)
        {
            if (!compatible) await deployments.NoArtifactAsync(device with { DeviceType = deviceType }, slot.DeploymentId, ct);
            else await deployments.ReportAsync(device, slot.DeploymentId, DeviceDeploymentStatuses.AlreadyInstalled, null, ct);
            // The next deployment (if one was waiting) is offered on the next poll, which may come at once.
            return (null, 0);
        }
        var link = await blobs.ReadUrlAsync(device.TenantId, artifact.Id, TimeSpan.FromMinutes(options.DownloadUrlMinutes), ct);
        // Under way: polling sooner lets the device see an abort, and the next deployment, in time.
        var pollAfter = PollIntervals.Next(options, deploymentPending: true, Random.Shared, device.InvalidReports);
        return (new NextDeploymentResponse(slot.DeploymentId,
            new NextArtifact(artifact.Name, artifact.Version, link.Uri, link.ExpiresAt, artifact.Sha256, artifact.Size, artifact.DeviceTypes), pollAfter), pollAfter);
    }

    internal static async Task<NoContent> StatusAsync(string id, DeviceStatusRequest request, DeviceCaller caller, DeploymentService deployments, CancellationToken ct)
    {
        if (request.Status is null || !DeviceDeploymentStatuses.Reportable.Contains(request.Status))
            throw FleetException.Validation("status", $"status is one of {string.Join(", ", DeviceDeploymentStatuses.Reportable)}.");
        if (request.Substate is { Length: > 200 }) throw FleetException.Validation("substate", "substate is at most 200 characters.");
        await deployments.ReportAsync(caller.Principal.Device, id, request.Status, request.Substate, ct);
        return TypedResults.NoContent();
    }

    internal static async Task<NoContent> LogAsync(string id, DeviceLogRequest request, DeviceCaller caller, DeploymentStore store, DeploymentLogs logs, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Messages is { Count: > 0 and <= MaxLogMessages }, "messages", $"messages lists 1 to {MaxLogMessages} entries.");
        errors.ThrowIfAny();
        for (var i = 0; i < request.Messages!.Count; i++)
        {
            var m = request.Messages[i];
            errors.Require(m.Timestamp is not null, $"messages[{i}].timestamp", "timestamp is required.");
            errors.Require(m.Level is { Length: > 0 and <= 20 }, $"messages[{i}].level", "level is required (at most 20 characters).");
            errors.Require(m.Message is { Length: <= 4000 }, $"messages[{i}].message", "message is required (at most 4000 characters).");
            if (errors.HasErrors) break;
        }
        errors.ThrowIfAny();
        var messages = request.Messages.Select(m => new DeploymentLogMessage(m.Timestamp!.Value, m.Level!, m.Message!)).ToList();
        if (messages.Sum(m => m.Message.Length + m.Level.Length + 40) > DeploymentLogs.MaxBytes)
            throw new FleetException(ErrorCategory.PayloadTooLarge, $"A deployment log is at most {DeploymentLogs.MaxBytes} bytes.");
        _ = await store.FindRecordAsync(caller.TenantId, id, caller.Serial, ct) ?? throw FleetException.NotFound("Deployment", id);
        await logs.WriteAsync(caller.TenantId, id, caller.Serial, messages, ct);
        return TypedResults.NoContent();
    }
}
