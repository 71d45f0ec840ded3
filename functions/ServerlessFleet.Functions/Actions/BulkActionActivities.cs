using Microsoft.Azure.Functions.Worker;
using ServerlessFleet.Shared.Actions;

namespace ServerlessFleet.Functions.Actions;

public sealed record BatchRequest(BulkActionState State, int Batch);
public sealed record EndRequest(BulkActionState State, string Status, bool PendingOnly);
public sealed record ActionStatusRequest(BulkActionState State, string Status);

/// <summary>The bulk-action orchestration's activities: each a thin call into the action services.</summary>
public sealed class BulkActionActivities(ActionStore store, ActionService actions)
{
    [Function(nameof(ActionPlan))]
    public async Task<ActionPlan?> ActionPlan([ActivityTrigger] BulkActionState state, CancellationToken ct) =>
        await store.FindAsync(state.TenantId, state.ActionId, ct) is { } a
            ? new ActionPlan(a.Batches, a.Rollout.BatchSize, a.Rollout.BatchDelaySeconds, a.Rollout.StopThresholdPercent, a.ExpiresAt)
            : null;

    [Function(nameof(ActionReleaseBatch))]
    public Task<int> ActionReleaseBatch([ActivityTrigger] BatchRequest request, CancellationToken ct) =>
        actions.ReleaseBatchAsync(request.State.TenantId, request.State.ActionId, request.Batch, ct);

    /// <summary><see cref="BatchRequest.Batch"/>: how many batches are released; their devices still without a delivery get it again.</summary>
    [Function(nameof(ActionRedeliver))]
    public Task<int> ActionRedeliver([ActivityTrigger] BatchRequest request, CancellationToken ct) =>
        actions.RedeliverAsync(request.State.TenantId, request.State.ActionId, request.Batch, ct);

    [Function(nameof(ActionProgress))]
    public Task<ActionProgress> ActionProgress([ActivityTrigger] BulkActionState state, CancellationToken ct) =>
        store.ProgressAsync(state.TenantId, state.ActionId, ct);

    [Function(nameof(ActionEnd))]
    public Task<int> ActionEnd([ActivityTrigger] EndRequest request, CancellationToken ct) =>
        actions.EndOpenAsync(request.State.TenantId, request.State.ActionId, request.Status, request.PendingOnly, ct);

    [Function(nameof(ActionSetStatus))]
    public async Task<bool> ActionSetStatus([ActivityTrigger] ActionStatusRequest request, CancellationToken ct)
    {
        await store.SetStatusAsync(request.State.TenantId, request.State.ActionId, request.Status, ct);
        return true;
    }
}
