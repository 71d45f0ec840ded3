using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Actions;

using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions.Actions;

/// <summary>
/// One orchestration per action: releases the rolling batches (a batch, then <c>batchDelaySeconds</c>), follows
/// progress, stops releasing when the failure percentage reaches the stop threshold, expires unanswered devices, and
/// obeys <c>Control</c> events (pause, resume, cancel). Devices are never one orchestration each: a batch is one
/// activity, and confirmations are folded into the per-device records the progress activity counts.
/// </summary>
public static class BulkActionOrchestration
{
    public const string Name = OrchestrationNames.BulkAction;
    public const string ControlEvent = OrchestrationNames.ControlEvent;
    private const int StepsPerGeneration = 30;
    private static TaskOptions Retry => ActivityRetry.Policy;

    [Function(Name)]
    public static async Task<string> RunAsync([OrchestrationTrigger] TaskOrchestrationContext ctx)
    {
        var state = ctx.GetInput<BulkActionState>()!;
        var plan = await PlanAsync(ctx, state);
        if (plan is null)
        {
            if (!await OrchestrationStarts.WaitUntilSavedAsync(ctx, async () => await PlanAsync(ctx, state) is not null)) return OrchestrationStarts.NeverSaved;
            ctx.ContinueAsNew(state, preserveUnprocessedEvents: true);
            return "";
        }
        if (!state.Started)
        {
            await SetStatusAsync(ctx, state, ActionStatuses.Running);
            state = state with { Started = true };
        }
        for (var step = 0; step < StepsPerGeneration; step++)
        {
            var now = new DateTimeOffset(ctx.CurrentUtcDateTime, TimeSpan.Zero);
            var progress = await ProgressAsync(ctx, state);
            var decision = BulkActionDecisions.Decide(state, plan, progress, now);
            ctx.SetCustomStatus(new BulkActionStatus(BulkActionDecisions.Phase(state, plan), state.NextBatch, plan.Batches, progress, now));
            switch (decision)
            {
                case BulkActionStep.StopReleasing:
                    await EndAsync(ctx, state, DeviceActionStatuses.Canceled, pendingOnly: true);
                    state = state with { Stopped = true };
                    break;
                case BulkActionStep.Release release:
                    await ctx.CallActivityAsync<int>(nameof(BulkActionActivities.ActionReleaseBatch), new BatchRequest(state, release.Batch), Retry);
                    state = state with { NextBatch = release.Batch + 1, NextReleaseAt = now.AddSeconds(plan.BatchDelaySeconds) };
                    break;
                case BulkActionStep.Finish finish:
                    // Once final, the status names the outcome, in the action's own words.
                    ctx.SetCustomStatus(new BulkActionStatus(finish.Status, state.NextBatch, plan.Batches, progress, now));
                    await SetStatusAsync(ctx, state, finish.Status);
                    return finish.Status;
                case BulkActionStep.Expire:
                    await EndAsync(ctx, state, DeviceActionStatuses.TimedOut, pendingOnly: false);
                    var expired = await ProgressAsync(ctx, state);
                    return await EndWithAsync(ctx, state, plan, BulkActionDecisions.FinalStatus(expired));
                case BulkActionStep.Wait wait:
                    string command;
                    try { command = await ctx.WaitForExternalEvent<string>(ControlEvent, wait.Until - now); }
                    catch (TaskCanceledException) { break; }
                    switch (command)
                    {
                        case ActionCommands.Pause when !state.Paused:
                            state = state with { Paused = true };
                            await SetStatusAsync(ctx, state, ActionStatuses.Paused);
                            break;
                        case ActionCommands.Resume when state.Paused:
                            state = state with { Paused = false };
                            await SetStatusAsync(ctx, state, ActionStatuses.Running);
                            break;
                        case ActionCommands.Cancel:
                            await EndAsync(ctx, state, DeviceActionStatuses.Canceled, pendingOnly: false);
                            return await EndWithAsync(ctx, state, plan, ActionStatuses.Canceled);
                    }
                    break;
            }
        }
        ctx.ContinueAsNew(state, preserveUnprocessedEvents: true);
        return "";
    }

    private static async Task<string> EndWithAsync(TaskOrchestrationContext ctx, BulkActionState state, ActionPlan plan, string status)
    {
        ctx.SetCustomStatus(new BulkActionStatus(status, state.NextBatch, plan.Batches, await ProgressAsync(ctx, state),
            new DateTimeOffset(ctx.CurrentUtcDateTime, TimeSpan.Zero)));
        await SetStatusAsync(ctx, state, status);
        return status;
    }

    private static Task<ActionPlan?> PlanAsync(TaskOrchestrationContext ctx, BulkActionState state) =>
        ctx.CallActivityAsync<ActionPlan?>(nameof(BulkActionActivities.ActionPlan), state, Retry);

    private static Task<ActionProgress> ProgressAsync(TaskOrchestrationContext ctx, BulkActionState state) =>
        ctx.CallActivityAsync<ActionProgress>(nameof(BulkActionActivities.ActionProgress), state, Retry);

    private static Task EndAsync(TaskOrchestrationContext ctx, BulkActionState state, string status, bool pendingOnly) =>
        ctx.CallActivityAsync<int>(nameof(BulkActionActivities.ActionEnd), new EndRequest(state, status, pendingOnly), Retry);

    private static Task SetStatusAsync(TaskOrchestrationContext ctx, BulkActionState state, string status) =>
        ctx.CallActivityAsync<bool>(nameof(BulkActionActivities.ActionSetStatus), new ActionStatusRequest(state, status), Retry);
}

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
