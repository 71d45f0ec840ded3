using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Shared.Deployments;

public sealed record DeploymentProgress(string Status, int Phase, int Phases, int NextBatch, string Next, IReadOnlyDictionary<string, int> Counts);

/// <summary>
/// One orchestration per deployment. Each step reads the statistics (counters, one small read), asks
/// <see cref="DeploymentDecisions"/> what to do, and does it through activities: release a batch of a phase, soak,
/// advance, pause or abort on the failure threshold, finish. Between steps it waits for a <c>Control</c> event
/// (pause, resume, abort) or its next check. Devices never get an orchestration of their own: their reports move the
/// counters, and timeouts and dynamic joins are swept by one activity.
/// </summary>
public static class DeploymentOrchestrator
{
    public const string Name = "Deployment";
    public const string ControlEvent = "Control";
    private const int StepsPerGeneration = 40;

    public static async Task<string> RunAsync(IOrchestrationContext ctx, DeploymentState state)
    {
        var run = await ctx.CallActivityAsync<DeploymentRun>("Deployments.Load", state);
        if (!DeploymentStatuses.IsActive(run.Status)) return run.Status;
        for (var step = 0; step < StepsPerGeneration; step++)
        {
            var now = ctx.CurrentUtcDateTime;
            if (SweepsNeeded(run) && (state.NextSweep is null || state.NextSweep <= now))
            {
                var lastReleased = state.Phase == run.Phases.Count - 1 && state.NextBatch >= DeploymentPlanner.Batches(run.Phases[^1]);
                await ctx.CallActivityAsync<int>("Deployments.Sweep", new SweepRequest(state, lastReleased));
                state = state with { NextSweep = now + SweepInterval(run, state) };
            }
            var stats = await ctx.CallActivityAsync<DeploymentStatistics>("Deployments.Statistics", new StatisticsRequest(state, run.Phases.Count));
            var decision = DeploymentDecisions.Decide(state, run, stats, now);
            switch (decision)
            {
                case DeploymentStep.Release release:
                    if (!state.Started)
                    {
                        await SetStatusAsync(ctx, state, DeploymentStatuses.InProgress, null);
                        state = state with { Started = true };
                    }
                    await ctx.CallActivityAsync<int>("Deployments.Release", new ReleaseRequest(state, release.Phase, release.Batch));
                    state = state with { NextBatch = state.NextBatch + 1 };
                    break;
                case DeploymentStep.Soak soak:
                    state = state with { SoakUntil = soak.Until };
                    break;
                case DeploymentStep.Advance:
                    state = state with { Phase = state.Phase + 1, NextBatch = 0, SoakUntil = null };
                    break;
                case DeploymentStep.Pause pause:
                    state = state with { Paused = true, PauseReason = pause.Reason, PausedAtSuccessGate = pause.AtSuccessGate };
                    await SetStatusAsync(ctx, state, DeploymentStatuses.Paused, pause.Reason);
                    break;
                case DeploymentStep.Abort abort:
                    return await AbortAsync(ctx, state, run, abort.Reason);
                case DeploymentStep.Finish:
                    await SetStatusAsync(ctx, state, DeploymentStatuses.Finished, null);
                    Report(ctx, DeploymentStatuses.Finished, state, run, stats, "done");
                    return DeploymentStatuses.Finished;
                case DeploymentStep.Wait wait:
                    Report(ctx, state.Paused ? DeploymentStatuses.Paused : state.Started ? DeploymentStatuses.InProgress : run.Status, state, run, stats, wait.Next);
                    var (next, done) = await WaitAsync(ctx, state, run, stats, wait.Until);
                    if (done is not null) return done;
                    state = next;
                    break;
            }
        }
        ctx.ContinueAsNew(state);
        return "";
    }

    private static async Task<(DeploymentState State, string? Done)> WaitAsync(IOrchestrationContext ctx, DeploymentState state, DeploymentRun run,
        DeploymentStatistics stats, DateTimeOffset? until)
    {
        var now = ctx.CurrentUtcDateTime;
        var wait = TimeSpan.FromSeconds(state.CheckSeconds);
        if (until is { } u && u - now < wait) wait = u - now;
        if (SweepsNeeded(run) && state.NextSweep is { } sweep && sweep - now < wait) wait = sweep - now;
        if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
        string command;
        try { command = await ctx.WaitForExternalEvent<string>(ControlEvent, wait); }
        catch (TimeoutException) { return (state, null); }
        switch (command)
        {
            case "pause" when !state.Paused:
                state = state with { Paused = true, PauseReason = "paused by request", PausedAtSuccessGate = false };
                await SetStatusAsync(ctx, state, DeploymentStatuses.Paused, state.PauseReason);
                return (state, null);
            case "resume" when state.Paused:
                // Resuming after a failed success gate means: go on with the next phase anyway.
                var waived = state.PausedAtSuccessGate ? state.Phase : state.GateWaivedForPhase;
                state = state with { Paused = false, PauseReason = null, PausedAtSuccessGate = false, FinishedAtResume = stats.Succeeded + stats.Failed, FailedAtResume = stats.Failed, GateWaivedForPhase = waived };
                await SetStatusAsync(ctx, state, state.Started ? DeploymentStatuses.InProgress : run.Status, null);
                return (state, null);
            case "abort":
                return (state, await AbortAsync(ctx, state, run, "aborted by request"));
            default:
                return (state, null);
        }
    }

    private static async Task<string> AbortAsync(IOrchestrationContext ctx, DeploymentState state, DeploymentRun run, string reason)
    {
        // Devices first: once the deployment reads aborted, every device record says so too.
        await ctx.CallActivityAsync<int>("Deployments.Abort", state);
        await SetStatusAsync(ctx, state, DeploymentStatuses.Aborted, reason);
        var stats = await ctx.CallActivityAsync<DeploymentStatistics>("Deployments.Statistics", new StatisticsRequest(state, run.Phases.Count));
        Report(ctx, DeploymentStatuses.Aborted, state, run, stats, reason);
        return DeploymentStatuses.Aborted;
    }

    private static bool SweepsNeeded(DeploymentRun run) => run.Dynamic || run.Policy.DeviceTimeoutMinutes is not null;

    private static TimeSpan SweepInterval(DeploymentRun run, DeploymentState state)
    {
        var check = TimeSpan.FromSeconds(state.CheckSeconds);
        if (run.Dynamic || run.Policy.DeviceTimeoutMinutes is not { } minutes) return check;
        var quarter = TimeSpan.FromMinutes(minutes / 4);
        return quarter < check ? check : quarter > TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : quarter;
    }

    private static void Report(IOrchestrationContext ctx, string status, DeploymentState state, DeploymentRun run, DeploymentStatistics stats, string next) =>
        ctx.SetCustomStatus(new DeploymentProgress(status, state.Phase + 1, run.Phases.Count, state.NextBatch, next,
            stats.Overall.Where(c => c.Value > 0).ToDictionary(c => c.Key, c => c.Value)));

    private static Task SetStatusAsync(IOrchestrationContext ctx, DeploymentState state, string status, string? reason) =>
        ctx.CallActivityAsync("Deployments.SetStatus", new StatusRequest(state, status, reason));

    public sealed record SweepRequest(DeploymentState State, bool LastPhaseReleased);
    public sealed record StatisticsRequest(DeploymentState State, int Phases);
    public sealed record ReleaseRequest(DeploymentState State, int Phase, int Batch);
    public sealed record StatusRequest(DeploymentState State, string Status, string? Reason);
}
