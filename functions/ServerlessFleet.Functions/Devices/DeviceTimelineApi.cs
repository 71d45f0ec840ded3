using Microsoft.Azure.Functions.Worker;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Functions.Devices;

public sealed record TimelineEntryResponse(DateTimeOffset At, string Subject, string SubjectId, string Decision, string Reason)
{
    public static TimelineEntryResponse From(TimelineEntry e) => new(e.At, e.Subject, e.SubjectId, e.Decision, e.Reason);
}

/// <summary>
/// Why a device got (or did not get) an update or an action: every decision about it, newest first, across deployments
/// and actions, or for one deployment.
/// </summary>
public static class DeviceTimelineApi
{
    [Function("GetDeviceTimeline"), Tags("Devices"), RequireScope(Scopes.FleetRead), HandledBy(nameof(TimelineAsync))]
    [EndpointSummary("Every decision about the device (targeted, offered, queued, skipped, retried, timed out, aborted, rolled back, installed, delivered, confirmed) with its reason, newest first")]
    public static Task<IResult> GetDeviceTimeline([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/devices/{serial}/timeline")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetDeploymentDeviceHistory"), Tags("Deployments"), RequireScope(Scopes.FleetRead), HandledBy(nameof(HistoryAsync))]
    [EndpointSummary("The decisions about one device in this deployment, newest first")]
    public static Task<IResult> GetDeploymentDeviceHistory([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/deployments/{id}/devices/{serial}/history")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<IResult> TimelineAsync(string serial, HttpContext context, [AsParameters] PagingQuery paging, Caller caller, Paging pages,
        DeviceStore devices, DeviceTimeline timeline, CancellationToken ct)
    {
        await devices.GetAsync(caller.TenantId, serial, ct);
        var page = await timeline.ListAsync(caller.TenantId, serial, null, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(TimelineEntryResponse.From)));
    }

    private static async Task<IResult> HistoryAsync(string id, string serial, HttpContext context, [AsParameters] PagingQuery paging, Caller caller, Paging pages,
        DeploymentStore deployments, DeviceTimeline timeline, CancellationToken ct)
    {
        _ = await deployments.FindRecordAsync(caller.TenantId, id, serial, ct) ?? throw Shared.Errors.FleetException.NotFound("Device in deployment", $"{id}/{serial}");
        var page = await timeline.ListAsync(caller.TenantId, serial, id, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(TimelineEntryResponse.From)));
    }
}
