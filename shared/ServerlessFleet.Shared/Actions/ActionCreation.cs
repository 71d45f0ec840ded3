using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Shared.Actions;

public sealed record RolloutRequest(int? BatchSize, int? BatchDelaySeconds, double? StopThresholdPercent);
public sealed record CreateActionRequest(string? Type, List<string>? Devices, string? Group, Dictionary<string, string>? Filter,
    JsonObject? Params, double? ExpiresInMinutes, RolloutRequest? Rollout);

/// <summary>
/// Sending an action to devices in rolling batches: the type's own notify:* scope, its parameters and the target are
/// checked, then the orchestration is started and the action saved (in that order, so a saved action always has one).
/// </summary>
public sealed class ActionCreation(ActionStore store, DeviceTargets targets, AuditLog audit, IOptions<FleetOptions> options, TimeProvider clock)
{
    public const int MaxExplicitDevices = 500;

    public async Task<(DeviceAction Action, ActionProgress Progress)> CreateAsync(CreateActionRequest request, Actor actor, IOrchestrationStarter orchestrations,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var type = request.Type;
        errors.Require(type is not null && ActionTypes.RequiredScope(type) is not null, "type", $"type is one of {string.Join(", ", ActionTypes.All)}.");
        errors.ThrowIfAny();
        RequireScopeFor(actor, type!);

        var parameters = ActionTypes.ValidateParams(type!, request.Params, errors);
        var targetKinds = new[] { request.Devices is not null, request.Group is not null, request.Filter is not null }.Count(t => t);
        errors.Require(targetKinds == 1, "devices", "Target exactly one of devices, group or filter.");
        errors.Require(request.Devices is null || request.Devices.Count is > 0 and <= MaxExplicitDevices, "devices", $"devices lists 1 to {MaxExplicitDevices} serials.");
        errors.Require(request.ExpiresInMinutes is null or (>= 0.05 and <= 7 * 24 * 60), "expiresInMinutes", "expiresInMinutes is 0.05 to 10080 (default 60).");
        var rollout = request.Rollout;
        errors.Require(rollout?.BatchSize is null or (>= 1 and <= 10_000), "rollout.batchSize", "batchSize is 1 to 10000.");
        errors.Require(rollout?.BatchDelaySeconds is null or (>= 0 and <= 86_400), "rollout.batchDelaySeconds", "batchDelaySeconds is 0 to 86400.");
        errors.Require(rollout?.StopThresholdPercent is null or (> 0 and <= 100), "rollout.stopThresholdPercent", "stopThresholdPercent is more than 0 and at most 100.");
        errors.ThrowIfAny();

        var serials = await TargetsAsync(request, actor.TenantId, ct);
        if (serials.Count == 0) throw new FleetException(ErrorCategory.Unprocessable, "The target matches no accepted device.");
        var batchSize = rollout?.BatchSize ?? Math.Max(serials.Count, 1);
        var now = clock.GetUtcNow();
        var action = new DeviceAction(store.NewId(), actor.TenantId, type!, parameters, serials.Count, (serials.Count + batchSize - 1) / batchSize,
            new Rollout(batchSize, rollout?.BatchDelaySeconds ?? 0, rollout?.StopThresholdPercent), now, now.AddMinutes(request.ExpiresInMinutes ?? 60),
            ActionStatuses.Pending, actor.KeyId);
        await orchestrations.StartOnceAsync(OrchestrationNames.BulkAction, action.InstanceId, new BulkActionState(actor.TenantId, action.Id, RedeliverSeconds: options.Value.ActionRedeliverSeconds), ct);
        await store.CreateAsync(action, serials, ct);
        await audit.RecordAsync(actor, "action.create", "action", action.Id, null, new { action.Type, action.Params, action.Total, action.Rollout, Targets = serials.Count }, ct);
        return (action, new ActionProgress(serials.Count, 0, 0, 0, 0, 0));
    }

    /// <summary>Each action type needs its own notify:* scope, which depends on the body and so is checked here, not by the route.</summary>
    public static void RequireScopeFor(Actor actor, string type) => actor.Require(ActionTypes.RequiredScope(type)!, $"Action '{type}'");

    private async Task<IReadOnlyList<string>> TargetsAsync(CreateActionRequest request, string tenantId, CancellationToken ct)
    {
        var devices = request.Devices is { } listed ? await targets.ListedAsync(tenantId, listed, ct)
            : request.Group is { } group ? await targets.GroupAsync(tenantId, group, ct)
            : await targets.FilterAsync(tenantId, request.Filter!, ct);
        return devices.Select(d => d.Serial).ToList();
    }
}
