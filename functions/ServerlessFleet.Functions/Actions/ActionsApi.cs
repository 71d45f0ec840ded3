using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Functions.Actions;

public sealed record ActionResponse(string Id, string Type, JsonObject Params, string Status, ActionProgress Progress, Rollout Rollout,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string OrchestrationId);
public sealed record DeviceActionResponse(string Serial, long? Seq, string Status, DateTimeOffset CreatedAt, DateTimeOffset? DeliveredAt,
    DateTimeOffset? SucceededAt, DateTimeOffset? FailedAt, DateTimeOffset? TimedOutAt, DateTimeOffset? CanceledAt, string? Result, Uri? ScreenshotUrl);
public sealed record InboxEntryResponse(string ActionId, long Seq, string Type, JsonObject Params, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string Status)
{
    public static InboxEntryResponse From(InboxEntry e) => new(e.ActionId, e.Seq, e.Type, e.Params, e.CreatedAt, e.ExpiresAt, e.Status);
}
public sealed record ActionResultRequest(string? Status, string? Detail);

/// <summary>
/// Device actions and bulk operations (API.md §2 "Device actions", §3, §4). Each action type needs its own
/// notify:* scope; that table lives in <see cref="ActionTypes"/> and is checked with the caller's scopes here,
/// because the scope depends on the body, which the route-level middleware does not read.
/// </summary>
public static class ActionsApi
{
    [Function("CreateAction"), Tags("Device actions"), RequireApiKey, AcceptIdempotencyKey, HandledBy(nameof(CreateAsync))]
    [EndpointSummary("Send an action to devices (≤ 500 listed, a group, or a filter) in rolling batches; needs the type's notify:* scope; Idempotency-Key honoured")]
    public static Task<IResult> CreateAction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/actions")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("ListActions"), Tags("Device actions"), RequireScope(Scopes.FleetRead), HandledBy(nameof(ListAsync))]
    [EndpointSummary("Actions, oldest first, each with its progress; filter status")]
    public static Task<IResult> ListActions([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/actions")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetAction"), Tags("Device actions"), RequireScope(Scopes.FleetRead), HandledBy(nameof(GetAsync))]
    [EndpointSummary("Status and progress of an action")]
    public static Task<IResult> GetAction([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/actions/{id}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ListActionDevices"), Tags("Device actions"), RequireScope(Scopes.FleetRead), HandledBy(nameof(DevicesAsync))]
    [EndpointSummary("Per-device records of an action")]
    public static Task<IResult> ListActionDevices([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/actions/{id}/devices")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("PauseAction"), Tags("Device actions"), RequireApiKey, HandledBy(nameof(ControlAsync))]
    [EndpointSummary("Hold batches not released yet")]
    public static Task<IResult> PauseAction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/actions/{id}:pause")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("ResumeAction"), Tags("Device actions"), RequireApiKey, HandledBy(nameof(ControlAsync))]
    [EndpointSummary("Continue releasing batches")]
    public static Task<IResult> ResumeAction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/actions/{id}:resume")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("CancelAction"), Tags("Device actions"), RequireApiKey, HandledBy(nameof(ControlAsync))]
    [EndpointSummary("Cancel: unanswered commands are withdrawn from inboxes")]
    public static Task<IResult> CancelAction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/actions/{id}:cancel")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("ListDeviceActionHistory"), Tags("Device actions"), RequireScope(Scopes.FleetRead), HandledBy(nameof(HistoryAsync))]
    [EndpointSummary("A device's action history, in sequence order")]
    public static Task<IResult> ListDeviceActionHistory([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/devices/{serial}/actions")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetDeviceActions"), Tags("Device API"), RequireDevice, HandledBy(nameof(InboxAsync))]
    [EndpointSummary("Pending actions after ?afterSeq=, in sequence order")]
    public static Task<IResult> GetDeviceActions([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/device/v1/actions")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("PostDeviceActionResult"), Tags("Device API"), RequireDevice, HandledBy(nameof(ResultAsync))]
    [EndpointSummary("{status: succeeded|failed, detail?}; repeating it is a no-op, contradicting it 409")]
    public static Task<IResult> PostDeviceActionResult([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/device/v1/actions/{actionId}/result")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<Accepted<ActionResponse>> CreateAsync(CreateActionRequest request, ActionCreation creation, Orchestrations orchestrations, Auditor audit,
        CancellationToken ct)
    {
        var (action, progress) = await creation.CreateAsync(request, audit.Actor(), orchestrations, ct);
        return TypedResults.Accepted($"/api/v1/actions/{action.Id}", Response(action, progress));
    }

    private static async Task<Ok<PagedResponse<ActionResponse>>> ListAsync(HttpContext context, [AsParameters] PagingQuery paging, string? status, Caller caller,
        Paging pages, ActionStore store, CancellationToken ct)
    {
        if (status is not null && !ActionStatuses.All.Contains(status))
            throw FleetException.Validation("status", $"status is one of {string.Join(", ", ActionStatuses.All)}.");
        var page = await store.ListAsync(caller.TenantId, status, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(s => Response(s.Action, s.Progress))));
    }

    private static async Task<Ok<ActionResponse>> GetAsync(string id, Caller caller, ActionStore store, CancellationToken ct)
    {
        var action = await store.GetAsync(caller.TenantId, id, ct);
        return TypedResults.Ok(Response(action, await store.ProgressAsync(caller.TenantId, id, ct)));
    }

    private static async Task<Ok<PagedResponse<DeviceActionResponse>>> DevicesAsync(string id, HttpContext context, [AsParameters] PagingQuery paging, Caller caller,
        Paging pages, ActionStore store, ActionService service, CancellationToken ct)
    {
        var action = await store.GetAsync(caller.TenantId, id, ct);
        var page = await store.ListRecordsAsync(caller.TenantId, id, pages.Parse(context, paging), ct);
        var items = new List<DeviceActionResponse>();
        foreach (var r in page.Items)
            items.Add(new DeviceActionResponse(r.Serial, r.Seq, r.Status, r.CreatedAt, r.DeliveredAt, r.SucceededAt, r.FailedAt, r.TimedOutAt, r.CanceledAt, r.Result,
                await service.ScreenshotUrlAsync(caller.TenantId, action, r, ct)));
        return TypedResults.Ok(pages.Respond(context, new ListPage<DeviceActionResponse>(items, page.Next, page.Previous)));
    }

    /// <summary>Pause, resume or cancel: 200 with the action after the change, or 202 when the orchestration has not applied it within the wait.</summary>
    private static async Task<Results<Ok<ActionResponse>, Accepted<ActionResponse>>> ControlAsync(string id, CustomMethod method, ActionControl control,
        Orchestrations orchestrations, Auditor audit, CancellationToken ct)
    {
        var (action, progress, applied) = await control.SendAsync(audit.Actor(), id, method.Name, orchestrations, ct);
        var response = Response(action, progress);
        return applied ? TypedResults.Ok(response) : TypedResults.Accepted($"/api/v1/actions/{id}", response);
    }

    private static async Task<Ok<PagedResponse<InboxEntryResponse>>> HistoryAsync(string serial, HttpContext context, [AsParameters] PagingQuery paging, Caller caller,
        Paging pages, DeviceStore devices, DeviceInbox inbox, CancellationToken ct)
    {
        await devices.GetAsync(caller.TenantId, serial, ct);
        var page = await inbox.HistoryAsync(caller.TenantId, serial, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(InboxEntryResponse.From)));
    }

    private static async Task<Ok<IReadOnlyList<InboxEntryResponse>>> InboxAsync(long? afterSeq, DeviceCaller device, DeviceInbox inbox, TimeProvider clock, CancellationToken ct)
    {
        if (afterSeq < 0) throw FleetException.Validation("afterSeq", "afterSeq is 0 or more.");
        IReadOnlyList<InboxEntryResponse> entries = (await inbox.PendingAsync(device.TenantId, device.Serial, afterSeq ?? 0, clock.GetUtcNow(), ct, device.Principal.Device.InboxSeq))
            .Select(InboxEntryResponse.From).ToList();
        return TypedResults.Ok(entries);
    }

    private static async Task<NoContent> ResultAsync(string actionId, ActionResultRequest request, DeviceCaller device, ActionService actions, CancellationToken ct)
    {
        if (request.Status is not (DeviceActionStatuses.Succeeded or DeviceActionStatuses.Failed))
            throw FleetException.Validation("status", "status is succeeded or failed.");
        if (request.Detail is { Length: > 4000 }) throw FleetException.Validation("detail", "detail is at most 4000 characters.");
        await actions.ConfirmAsync(device.TenantId, device.Serial, actionId, request.Status, request.Detail, ct);
        return TypedResults.NoContent();
    }

    private static ActionResponse Response(DeviceAction a, ActionProgress progress) =>
        new(a.Id, a.Type, a.Params, a.Status, progress, a.Rollout, a.CreatedAt, a.ExpiresAt, a.InstanceId);
}

/// <summary>Writes a delivery message's actions into the devices' inboxes (retried by the host, poisoned after maxDequeueCount).</summary>
public sealed class DeliverDeviceAction(ActionService actions)
{
    [Function(nameof(DeliverDeviceAction))]
    public Task RunAsync([QueueTrigger(ActionService.DeliveryQueue)] string message, CancellationToken ct) =>
        actions.DeliverAsync(JsonSerializer.Deserialize<DeliveryMessage>(message)!, ct);
}
