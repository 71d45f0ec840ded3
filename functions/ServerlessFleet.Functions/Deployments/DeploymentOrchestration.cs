using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions.Deployments;

/// <summary>
/// The orchestration's custom status: where the deployment stands as of its last decision (<see cref="At"/>);
/// <see cref="PhaseIndex"/> is the phase's <c>index</c> in the deployment's phase list.
/// </summary>
public sealed record DeploymentProgress(string Status, int PhaseIndex, int Phases, int NextBatch, string Next, IReadOnlyDictionary<string, int> Counts, DateTimeOffset At,
    HealthCheck? Health = null, string? RolledBackBy = null);

/// <summary>
/// One orchestration per deployment. Each step reads the statistics (counters, one small read), asks
/// <see cref="DeploymentDecisions"/> what to do, and does it through activities: release a batch of a phase, soak,
/// advance, pause or abort on the failure threshold, finish. Between steps it waits for a <c>Control</c> event
/// (pause, resume, abort) or its next check on a durable timer. Devices never get an orchestration of their own: their
/// reports move the counters, and timeouts and dynamic joins are swept by one activity.
/// </summary>
public static class DeploymentOrchestration
{
    public const string Name = OrchestrationNames.Deployment;
    public const string ControlEvent = OrchestrationNames.ControlEvent;
    /// <summary>Steps per generation before continuing as new, which keeps the replayed history short.</summary>
    private const int StepsPerGeneration = 40;

    [Function(Name)]
    public static async Task<string> RunAsync([OrchestrationTrigger] TaskOrchestrationContext ctx)
    {
        var state = ctx.GetInput<DeploymentState>()!;
        var run = await ctx.LoadDeploymentAsync(state) ?? await OrchestrationStarts.WaitUntilSavedAsync(ctx, () => ctx.LoadDeploymentAsync(state));
        if (run is null) return OrchestrationStarts.NeverSaved;
        if (!DeploymentStatuses.IsActive(run.Status)) return run.Status;
        for (var step = 0; step < StepsPerGeneration; step++)
        {
            var now = Now(ctx);
            if (DeploymentDecisions.SweepsNeeded(run) && (state.NextSweep is null || state.NextSweep <= now))
            {
                var lastReleased = state.Phase == run.Phases.Count - 1 && state.NextBatch >= DeploymentPlanner.Batches(run.Phases[^1]);
                await ctx.SweepDevicesAsync(state, lastReleased);
                state = state with { NextSweep = now + DeploymentDecisions.SweepInterval(run, state) };
            }
            var stats = await ctx.DeploymentStatisticsAsync(state, run);
            switch (DeploymentDecisions.Decide(state, run, stats, now))
            {
                case DeploymentStep.Release release:
                    if (!state.Started)
                    {
                        await ctx.SetDeploymentStatusAsync(state, DeploymentStatuses.InProgress, null);
                        state = state with { Started = true };
                    }
                    await ctx.ReleaseBatchAsync(state, release.Phase, release.Batch);
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
                    await ctx.SetDeploymentStatusAsync(state, DeploymentStatuses.Paused, pause.Reason);
                    break;
                case DeploymentStep.Abort abort:
                    return await AbortAsync(ctx, state, run, abort.Reason, rollback: true);
                case DeploymentStep.WatchHealth watch:
                    state = state with { HealthUntil = watch.Until };
                    break;
                case DeploymentStep.CheckHealth check:
                    var gate = run.Policy.HealthGate!;
                    var health = await ctx.CheckHealthAsync(new HealthRequest(state, check.Phase, gate, run.Phases.Count, state.HealthUntil!.Value - TimeSpan.FromMinutes(gate.WindowMinutes)));
                    // A gate that stopped the rollout is settled for its phase too: resuming goes on, as after the success gate.
                    state = state with { Health = health, HealthUntil = null, HealthSettledPhase = check.Phase };
                    if (health.Verdict == FailureThreshold.Abort) return await AbortAsync(ctx, state, run, health.Reason, rollback: true);
                    if (!health.Passed)
                    {
                        state = state with { Paused = true, PauseReason = health.Reason, PausedAtSuccessGate = false };
                        await ctx.SetDeploymentStatusAsync(state, DeploymentStatuses.Paused, health.Reason);
                    }
                    Report(ctx, health.Passed ? DeploymentStatuses.InProgress : DeploymentStatuses.Paused, state, run, stats, health.Reason);
                    break;
                case DeploymentStep.Finish:
                    await ctx.SetDeploymentStatusAsync(state, DeploymentStatuses.Finished, null);
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
        // Control events that arrived meanwhile are handed to the next generation.
        ctx.ContinueAsNew(state, preserveUnprocessedEvents: true);
        return "";
    }

    /// <summary>Waits for a command until the step's time or the next check, and applies it.</summary>
    private static async Task<(DeploymentState State, string? Done)> WaitAsync(TaskOrchestrationContext ctx, DeploymentState state, DeploymentRun run,
        DeploymentStatistics stats, DateTimeOffset? until)
    {
        var wait = DeploymentDecisions.WaitTime(state, run, until, Now(ctx));
        if (wait <= TimeSpan.Zero) return (state, null);
        string command;
        try { command = await ctx.WaitForExternalEvent<string>(ControlEvent, wait); }
        catch (TaskCanceledException) { return (state, null); }
        switch (DeploymentDecisions.OnCommand(state, run, stats, command))
        {
            case CommandOutcome.Changed changed:
                await ctx.SetDeploymentStatusAsync(changed.State, changed.Status, changed.Reason);
                return (changed.State, null);
            case CommandOutcome.Abort abort:
                return (state, await AbortAsync(ctx, state, run, abort.Reason, rollback: false));
            default:
                return (state, null);
        }
    }

    /// <param name="rollback">Aborted by a gate or threshold (not by an operator): devices that installed the release are offered the policy's rollback release.</param>
    private static async Task<string> AbortAsync(TaskOrchestrationContext ctx, DeploymentState state, DeploymentRun run, string reason, bool rollback)
    {
        // Devices first: once the deployment reads aborted, every device record says so too.
        await ctx.AbortDevicesAsync(state, reason);
        await ctx.SetDeploymentStatusAsync(state, DeploymentStatuses.Aborted, reason);
        var rolledBackBy = rollback && run.Policy.Rollback is not null ? await ctx.RollBackAsync(state) : null;
        Report(ctx, DeploymentStatuses.Aborted, state, run, await ctx.DeploymentStatisticsAsync(state, run), reason, rolledBackBy);
        return DeploymentStatuses.Aborted;
    }

    private static DateTimeOffset Now(TaskOrchestrationContext ctx) => new(ctx.CurrentUtcDateTime, TimeSpan.Zero);

    private static void Report(TaskOrchestrationContext ctx, string status, DeploymentState state, DeploymentRun run, DeploymentStatistics stats, string next,
        string? rolledBackBy = null) =>
        ctx.SetCustomStatus(new DeploymentProgress(status, state.Phase, run.Phases.Count, state.NextBatch, next,
            stats.Overall.Where(c => c.Value > 0).ToDictionary(c => c.Key, c => c.Value), Now(ctx), state.Health, rolledBackBy));
}
