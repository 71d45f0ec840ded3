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

    [Function(Name)]
    public static async Task<string> RunAsync([OrchestrationTrigger] TaskOrchestrationContext ctx)
    {
        var state = ctx.GetInput<BulkActionState>()!;
        var plan = await ctx.LoadActionPlanAsync(state) ?? await OrchestrationStarts.WaitUntilSavedAsync(ctx, () => ctx.LoadActionPlanAsync(state));
        if (plan is null) return OrchestrationStarts.NeverSaved;
        if (!state.Started)
        {
            await ctx.SetActionStatusAsync(state, ActionStatuses.Running);
            state = state with { Started = true };
        }
        for (var step = 0; step < StepsPerGeneration; step++)
        {
            var now = new DateTimeOffset(ctx.CurrentUtcDateTime, TimeSpan.Zero);
            var progress = await ctx.ActionProgressAsync(state);
            var decision = BulkActionDecisions.Decide(state, plan, progress, now);
            ctx.SetCustomStatus(new BulkActionStatus(BulkActionDecisions.Phase(state, plan), state.NextBatch, plan.Batches, progress, now));
            switch (decision)
            {
                case BulkActionStep.StopReleasing:
                    await ctx.EndOpenDevicesAsync(state, DeviceActionStatuses.Canceled, pendingOnly: true);
                    state = state with { Stopped = true };
                    break;
                case BulkActionStep.Release release:
                    await ctx.ReleaseActionBatchAsync(state, release.Batch);
                    state = state with { NextBatch = release.Batch + 1, NextReleaseAt = now.AddSeconds(plan.BatchDelaySeconds), NextRedeliverAt = now.AddSeconds(state.RedeliverSeconds) };
                    break;
                case BulkActionStep.Redeliver redeliver:
                    await ctx.RedeliverActionAsync(state, redeliver.ReleasedBatches);
                    state = state with { NextRedeliverAt = now.AddSeconds(state.RedeliverSeconds) };
                    break;
                case BulkActionStep.Finish finish:
                    // Once final, the status names the outcome, in the action's own words.
                    ctx.SetCustomStatus(new BulkActionStatus(finish.Status, state.NextBatch, plan.Batches, progress, now));
                    await ctx.SetActionStatusAsync(state, finish.Status);
                    return finish.Status;
                case BulkActionStep.Expire:
                    await ctx.EndOpenDevicesAsync(state, DeviceActionStatuses.TimedOut, pendingOnly: false);
                    var expired = await ctx.ActionProgressAsync(state);
                    return await EndWithAsync(ctx, state, plan, BulkActionDecisions.FinalStatus(expired));
                case BulkActionStep.Wait wait:
                    string command;
                    try { command = await ctx.WaitForExternalEvent<string>(ControlEvent, wait.Until - now); }
                    catch (TaskCanceledException) { break; }
                    switch (BulkActionDecisions.OnCommand(state, command))
                    {
                        case ActionCommandOutcome.Changed changed:
                            state = changed.State;
                            await ctx.SetActionStatusAsync(state, changed.Status);
                            break;
                        case ActionCommandOutcome.Cancel:
                            await ctx.EndOpenDevicesAsync(state, DeviceActionStatuses.Canceled, pendingOnly: false);
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
        ctx.SetCustomStatus(new BulkActionStatus(status, state.NextBatch, plan.Batches, await ctx.ActionProgressAsync(state),
            new DateTimeOffset(ctx.CurrentUtcDateTime, TimeSpan.Zero)));
        await ctx.SetActionStatusAsync(state, status);
        return status;
    }
}
