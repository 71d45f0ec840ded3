using ServerlessFleet.Functions.Conventions;
using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Deployments;

namespace ServerlessFleet.Functions.Deployments;

/// <summary>
/// The device side of deployments (API.md §3). The poll answers from the device row its authentication already read:
/// with nothing due it costs that one point read and no write.
/// </summary>
public static class DeviceDeploymentsApi
{
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
        DevicePoll poll, CancellationToken ct)
    {
        var device = caller.Principal.Device;
        var answer = await poll.NextAsync(device, new PollRequest(artifactName, artifactVersion, deviceType), ct);
        context.Response.Headers["X-Poll-After"] = answer.PollAfterSeconds.ToString(CultureInfo.InvariantCulture);
        // The newest action in the device's inbox, from the row authentication read: a device reads its inbox only
        // when this passes what it has seen, which halves a quiet fleet's requests.
        context.Response.Headers[InboxSeqHeader] = device.InboxSeq.ToString(CultureInfo.InvariantCulture);
        return answer.Offer is null ? TypedResults.NoContent() : TypedResults.Ok(answer.Offer);
    }

    private static async Task<NoContent> StatusAsync(string id, DeviceStatusRequest request, DeviceCaller caller, DeviceDeploymentReports reports, CancellationToken ct)
    {
        await reports.ReportStatusAsync(caller.Principal.Device, id, request, ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> LogAsync(string id, DeviceLogRequest request, DeviceCaller caller, DeviceDeploymentReports reports, CancellationToken ct)
    {
        await reports.WriteLogAsync(caller.Principal.Device, id, request, ct);
        return TypedResults.NoContent();
    }
}
