using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Shared.Actions;

/// <summary>Where a bulk action stands; carried across continue-as-new.</summary>
public sealed record BulkActionState(string TenantId, string ActionId, int NextBatch = 0, bool Paused = false, bool Stopped = false, int PollSeconds = 5);

public sealed record ActionPlan(int Batches, int BatchSize, int BatchDelaySeconds, double? StopThresholdPercent, DateTimeOffset ExpiresAt);

public sealed record BulkActionStatus(string Phase, int NextBatch, int Batches, ActionProgress Progress);

/// <summary>
/// One orchestration per action: releases the rolling batches (a batch, then <c>batchDelaySeconds</c>), follows
/// progress, stops releasing when the failure percentage reaches the stop threshold, expires unanswered devices,
/// and obeys <c>Control</c> events (pause, resume, cancel). Devices are never one orchestration each: a batch is
/// one activity, and confirmations are folded into the per-device records the progress activity counts.
/// </summary>
public static class BulkActionOrchestrator
{
    public const string Name = "BulkAction";
    public const string ControlEvent = "Control";
    private const int StepsPerGeneration = 30;

    public static async Task<string> RunAsync(IOrchestrationContext ctx, BulkActionState state)
    {
        var plan = await ctx.CallActivityAsync<ActionPlan>("Actions.Plan", state);
        if (state is { NextBatch: 0, Paused: false, Stopped: false }) await SetStatusAsync(ctx, state, ActionStatuses.Running);
        for (var step = 0; step < StepsPerGeneration; step++)
        {
            // The threshold is judged before every release, so a failing batch stops the next one.
            var progress = await ctx.CallActivityAsync<ActionProgress>("Actions.Progress", state);
            if (!state.Stopped && plan.StopThresholdPercent is { } threshold && progress.Succeeded + progress.Failed >= plan.BatchSize
                && progress.Failed * 100.0 / (progress.Succeeded + progress.Failed) >= threshold)
            {
                // Too many failures: nothing more is sent; what was delivered may still finish.
                await ctx.CallActivityAsync<int>("Actions.End", new EndRequest(state, DeviceActionStatuses.Canceled, PendingOnly: true));
                state = state with { Stopped = true };
                continue;
            }
            if (!state.Paused && !state.Stopped && state.NextBatch < plan.Batches)
            {
                await ctx.CallActivityAsync<int>("Actions.ReleaseBatch", new BatchRequest(state, state.NextBatch));
                state = state with { NextBatch = state.NextBatch + 1 };
            }
            var released = state.Stopped || state.NextBatch >= plan.Batches;
            ctx.SetCustomStatus(new BulkActionStatus(state.Paused ? "paused" : state.Stopped ? "stopped" : released ? "awaiting confirmations" : "releasing",
                state.NextBatch, plan.Batches, progress));

            if (released && progress.Finished >= progress.Total) return await FinishAsync(ctx, state, progress);
            if (ctx.CurrentUtcDateTime >= plan.ExpiresAt)
            {
                await ctx.CallActivityAsync<int>("Actions.End", new EndRequest(state, DeviceActionStatuses.TimedOut, PendingOnly: false));
                continue;
            }

            var releasing = !released && !state.Paused;
            var wait = releasing ? TimeSpan.FromSeconds(plan.BatchDelaySeconds) : TimeSpan.FromSeconds(state.PollSeconds);
            var untilExpiry = plan.ExpiresAt - ctx.CurrentUtcDateTime;
            if (untilExpiry < wait) wait = untilExpiry < TimeSpan.Zero ? TimeSpan.Zero : untilExpiry;
            if (releasing && wait == TimeSpan.Zero) continue;
            string command;
            try { command = await ctx.WaitForExternalEvent<string>(ControlEvent, wait); }
            catch (TimeoutException) { continue; }
            switch (command)
            {
                case "pause":
                    state = state with { Paused = true };
                    await SetStatusAsync(ctx, state, ActionStatuses.Paused);
                    break;
                case "resume" when state.Paused:
                    state = state with { Paused = false };
                    await SetStatusAsync(ctx, state, ActionStatuses.Running);
                    break;
                case "cancel":
                    await ctx.CallActivityAsync<int>("Actions.End", new EndRequest(state, DeviceActionStatuses.Canceled, PendingOnly: false));
                    var final = await ctx.CallActivityAsync<ActionProgress>("Actions.Progress", state);
                    ctx.SetCustomStatus(new BulkActionStatus("canceled", state.NextBatch, plan.Batches, final));
                    await SetStatusAsync(ctx, state, ActionStatuses.Canceled);
                    return ActionStatuses.Canceled;
            }
        }
        ctx.ContinueAsNew(state);
        return "";
    }

    /// <summary>succeeded when every device succeeded, failed when none did, partially_failed in between.</summary>
    public static string FinalStatus(ActionProgress p) =>
        p.Succeeded == p.Total ? ActionStatuses.Succeeded : p.Succeeded == 0 ? ActionStatuses.Failed : ActionStatuses.PartiallyFailed;

    private static async Task<string> FinishAsync(IOrchestrationContext ctx, BulkActionState state, ActionProgress progress)
    {
        var status = FinalStatus(progress);
        await SetStatusAsync(ctx, state, status);
        return status;
    }

    private static Task SetStatusAsync(IOrchestrationContext ctx, BulkActionState state, string status) =>
        ctx.CallActivityAsync("Actions.SetStatus", new StatusRequest(state, status));

    public sealed record BatchRequest(BulkActionState State, int Batch);
    public sealed record EndRequest(BulkActionState State, string Status, bool PendingOnly);
    public sealed record StatusRequest(BulkActionState State, string Status);
}
