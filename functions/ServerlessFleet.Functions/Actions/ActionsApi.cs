using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Devices;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Functions.Actions;

public sealed record RolloutRequest(int? BatchSize, int? BatchDelaySeconds, double? StopThresholdPercent);
public sealed record CreateActionRequest(string? Type, List<string>? Devices, string? Group, Dictionary<string, string>? Filter,
    JsonObject? Params, double? ExpiresInMinutes, RolloutRequest? Rollout);
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
    public const int MaxExplicitDevices = 500;

    [Function("CreateAction"), Tags("Device actions"), RequireApiKey, AcceptIdempotencyKey, HandledBy(nameof(CreateAsync))]
    [EndpointSummary("Send an action to devices (≤ 500 listed, a group, or a filter) in rolling batches; needs the type's notify:* scope; Idempotency-Key honoured")]
    public static Task<IResult> CreateAction([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/actions")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

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

    private static async Task<Accepted<ActionResponse>> CreateAsync(CreateActionRequest request, HttpContext context, Caller caller, DeviceTargets deviceTargets,
        ActionStore store, Orchestrations orchestrations, Auditor audit, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var type = request.Type;
        errors.Require(type is not null && ActionTypes.RequiredScope(type) is not null, "type", $"type is one of {string.Join(", ", ActionTypes.All)}.");
        errors.ThrowIfAny();
        RequireScopeFor(caller, type!);

        var parameters = ActionTypes.ValidateParams(type!, request.Params, errors);
        var targets = new[] { request.Devices is not null, request.Group is not null, request.Filter is not null }.Count(t => t);
        errors.Require(targets == 1, "devices", "Target exactly one of devices, group or filter.");
        errors.Require(request.Devices is null || request.Devices.Count is > 0 and <= MaxExplicitDevices, "devices", $"devices lists 1 to {MaxExplicitDevices} serials.");
        errors.Require(request.ExpiresInMinutes is null or (>= 0.05 and <= 7 * 24 * 60), "expiresInMinutes", "expiresInMinutes is 0.05 to 10080 (default 60).");
        var rollout = request.Rollout;
        errors.Require(rollout?.BatchSize is null or (>= 1 and <= 10_000), "rollout.batchSize", "batchSize is 1 to 10000.");
        errors.Require(rollout?.BatchDelaySeconds is null or (>= 0 and <= 86_400), "rollout.batchDelaySeconds", "batchDelaySeconds is 0 to 86400.");
        errors.Require(rollout?.StopThresholdPercent is null or (> 0 and <= 100), "rollout.stopThresholdPercent", "stopThresholdPercent is more than 0 and at most 100.");
        errors.ThrowIfAny();

        var serials = await TargetsAsync(request, caller, deviceTargets, ct);
        if (serials.Count == 0) throw new FleetException(ErrorCategory.Unprocessable, "The target matches no accepted device.");
        var batchSize = rollout?.BatchSize ?? Math.Max(serials.Count, 1);
        var now = clock.GetUtcNow();
        var action = new DeviceAction(store.NewId(), caller.TenantId, type!, parameters, serials.Count, (serials.Count + batchSize - 1) / batchSize,
            new Rollout(batchSize, rollout?.BatchDelaySeconds ?? 0, rollout?.StopThresholdPercent), now, now.AddMinutes(request.ExpiresInMinutes ?? 60),
            ActionStatuses.Pending, caller.KeyId);
        var instance = InstanceId(action);
        // The orchestration first: a saved action always has one (it waits for the save; see OrchestrationStarts).
        await orchestrations.StartOnceAsync(BulkActionOrchestration.Name, instance, new BulkActionState(caller.TenantId, action.Id), ct);
        await store.CreateAsync(action, serials, ct);
        await audit.RecordAsync("action.create", "action", action.Id, null, new { action.Type, action.Params, action.Total, action.Rollout, Targets = serials.Count }, ct);
        return TypedResults.Accepted($"/api/v1/actions/{action.Id}", Response(action, new ActionProgress(serials.Count, 0, 0, 0, 0, 0), instance));
    }

    private static async Task<Ok<ActionResponse>> GetAsync(string id, Caller caller, ActionStore store, CancellationToken ct)
    {
        var action = await store.GetAsync(caller.TenantId, id, ct);
        return TypedResults.Ok(Response(action, await store.ProgressAsync(caller.TenantId, id, ct), InstanceId(action)));
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

    /// <summary>
    /// Pause, resume or cancel: answered with the action after the change (200), or 202 when the orchestration has not
    /// applied it within the wait. A command that changes nothing (pausing a paused action) raises no event.
    /// </summary>
    private static async Task<Results<Ok<ActionResponse>, Accepted<ActionResponse>>> ControlAsync(string id, CustomMethod method, Caller caller, ActionStore store,
        Orchestrations orchestrations, Auditor audit, CancellationToken ct)
    {
        var command = method.Name;
        var action = await store.GetAsync(caller.TenantId, id, ct);
        RequireScopeFor(caller, action.Type);
        if (ActionStatuses.IsFinal(action.Status)) throw FleetException.Conflict($"The action is {action.Status}.");
        if (command == ActionCommands.Resume && action.Status != ActionStatuses.Paused) throw FleetException.Conflict($"The action is {action.Status}, not paused.");
        var applied = true;
        if (!(command == ActionCommands.Pause && action.Status == ActionStatuses.Paused))
        {
            (action, applied) = await orchestrations.CommandAsync(InstanceId(action), BulkActionOrchestration.ControlEvent, command,
                t => store.GetAsync(caller.TenantId, id, t), a => Applied(command, a.Status), ct);
            await audit.RecordAsync($"action.{command}", "action", id, null, new { command }, ct);
        }
        var response = Response(action, await store.ProgressAsync(caller.TenantId, id, ct), InstanceId(action));
        return applied ? TypedResults.Ok(response) : TypedResults.Accepted($"/api/v1/actions/{id}", response);
    }

    private static bool Applied(string command, string status) => command switch
    {
        ActionCommands.Pause => status != ActionStatuses.Running && status != ActionStatuses.Pending,
        ActionCommands.Resume => status != ActionStatuses.Paused,
        _ => ActionStatuses.IsFinal(status),
    };

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

    private static async Task<IReadOnlyList<string>> TargetsAsync(CreateActionRequest request, Caller caller, DeviceTargets targets, CancellationToken ct)
    {
        var devices = request.Devices is { } listed ? await targets.ListedAsync(caller.TenantId, listed, ct)
            : request.Group is { } group ? await targets.GroupAsync(caller.TenantId, group, ct)
            : await targets.FilterAsync(caller.TenantId, request.Filter!, ct);
        return devices.Select(d => d.Serial).ToList();
    }

    private static void RequireScopeFor(Caller caller, string type)
    {
        var scope = ActionTypes.RequiredScope(type)!;
        if (!caller.Principal.Has(scope)) throw FleetException.Forbidden($"Action '{type}' requires the '{scope}' scope.");
    }

    private static string InstanceId(DeviceAction action) => OrchestrationIds.Action(action.TenantId, action.Id);

    private static ActionResponse Response(DeviceAction a, ActionProgress progress, string instance) =>
        new(a.Id, a.Type, a.Params, a.Status, progress, a.Rollout, a.CreatedAt, a.ExpiresAt, instance);
}

/// <summary>Writes a delivery message's actions into the devices' inboxes (retried by the host, poisoned after maxDequeueCount).</summary>
public sealed class DeliverDeviceAction(ActionService actions)
{
    [Function(nameof(DeliverDeviceAction))]
    public Task RunAsync([QueueTrigger(ActionService.DeliveryQueue)] string message, CancellationToken ct) =>
        actions.DeliverAsync(JsonSerializer.Deserialize<DeliveryMessage>(message)!, ct);
}
