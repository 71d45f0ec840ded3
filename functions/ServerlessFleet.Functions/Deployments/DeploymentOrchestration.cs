using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Groups;
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
        var run = await Activities.LoadAsync(ctx, state);
        if (run is null)
        {
            if (!await OrchestrationStarts.WaitUntilSavedAsync(ctx, async () => await Activities.LoadAsync(ctx, state) is not null)) return OrchestrationStarts.NeverSaved;
            ctx.ContinueAsNew(state, preserveUnprocessedEvents: true);
            return "";
        }
        if (!DeploymentStatuses.IsActive(run.Status)) return run.Status;
        for (var step = 0; step < StepsPerGeneration; step++)
        {
            var now = Now(ctx);
            if (SweepsNeeded(run) && (state.NextSweep is null || state.NextSweep <= now))
            {
                var lastReleased = state.Phase == run.Phases.Count - 1 && state.NextBatch >= DeploymentPlanner.Batches(run.Phases[^1]);
                await ctx.CallActivityAsync<int>(nameof(DeploymentActivities.DeploymentSweep), new SweepRequest(state, lastReleased), Activities.Retry);
                state = state with { NextSweep = now + SweepInterval(run, state) };
            }
            var stats = await Activities.StatisticsAsync(ctx, state, run);
            switch (DeploymentDecisions.Decide(state, run, stats, now))
            {
                case DeploymentStep.Release release:
                    if (!state.Started)
                    {
                        await SetStatusAsync(ctx, state, DeploymentStatuses.InProgress, null);
                        state = state with { Started = true };
                    }
                    await ctx.CallActivityAsync<int>(nameof(DeploymentActivities.DeploymentRelease), new ReleaseRequest(state, release.Phase, release.Batch), Activities.Retry);
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
                    return await AbortAsync(ctx, state, run, abort.Reason, rollback: true);
                case DeploymentStep.WatchHealth watch:
                    state = state with { HealthUntil = watch.Until };
                    break;
                case DeploymentStep.CheckHealth check:
                    var health = await ctx.CallActivityAsync<HealthCheck>(nameof(DeploymentActivities.DeploymentHealth),
                        new HealthRequest(state, check.Phase, run.Policy.HealthGate!, run.Phases.Count, state.HealthUntil!.Value - TimeSpan.FromMinutes(run.Policy.HealthGate!.WindowMinutes)),
                        Activities.Retry);
                    // A gate that stopped the rollout is settled for its phase too: resuming goes on, as after the success gate.
                    state = state with { Health = health, HealthUntil = null, HealthSettledPhase = check.Phase };
                    if (health.Verdict == FailureThreshold.Abort) return await AbortAsync(ctx, state, run, health.Reason, rollback: true);
                    if (!health.Passed)
                    {
                        state = state with { Paused = true, PauseReason = health.Reason, PausedAtSuccessGate = false };
                        await SetStatusAsync(ctx, state, DeploymentStatuses.Paused, health.Reason);
                    }
                    Report(ctx, health.Passed ? DeploymentStatuses.InProgress : DeploymentStatuses.Paused, state, run, stats, health.Reason);
                    break;
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
        // Control events that arrived meanwhile are handed to the next generation.
        ctx.ContinueAsNew(state, preserveUnprocessedEvents: true);
        return "";
    }

    private static async Task<(DeploymentState State, string? Done)> WaitAsync(TaskOrchestrationContext ctx, DeploymentState state, DeploymentRun run,
        DeploymentStatistics stats, DateTimeOffset? until)
    {
        var now = Now(ctx);
        var wait = TimeSpan.FromSeconds(state.CheckSeconds);
        if (until is { } u && u - now < wait) wait = u - now;
        if (SweepsNeeded(run) && state.NextSweep is { } sweep && sweep - now < wait) wait = sweep - now;
        if (wait <= TimeSpan.Zero) return (state, null);
        string command;
        try { command = await ctx.WaitForExternalEvent<string>(ControlEvent, wait); }
        catch (TaskCanceledException) { return (state, null); }
        switch (command)
        {
            case DeploymentCommands.Pause when !state.Paused:
                state = state with { Paused = true, PauseReason = "paused by request", PausedAtSuccessGate = false };
                await SetStatusAsync(ctx, state, DeploymentStatuses.Paused, state.PauseReason);
                return (state, null);
            case DeploymentCommands.Resume when state.Paused:
                // Resuming after a failed success gate means: go on with the next phase anyway.
                var waived = state.PausedAtSuccessGate ? state.Phase : state.GateWaivedForPhase;
                state = state with { Paused = false, PauseReason = null, PausedAtSuccessGate = false, FinishedAtResume = stats.Succeeded + stats.Failed, FailedAtResume = stats.Failed, GateWaivedForPhase = waived };
                await SetStatusAsync(ctx, state, state.Started ? DeploymentStatuses.InProgress : run.Status, null);
                return (state, null);
            case DeploymentCommands.Abort:
                return (state, await AbortAsync(ctx, state, run, "aborted by request", rollback: false));
            default:
                // A repeated command changes nothing.
                return (state, null);
        }
    }

    /// <param name="rollback">Aborted by a gate or threshold (not by an operator): devices that installed the release are offered the policy's rollback release.</param>
    private static async Task<string> AbortAsync(TaskOrchestrationContext ctx, DeploymentState state, DeploymentRun run, string reason, bool rollback)
    {
        // Devices first: once the deployment reads aborted, every device record says so too.
        await ctx.CallActivityAsync<int>(nameof(DeploymentActivities.DeploymentAbortDevices), new AbortRequest(state, reason), Activities.Retry);
        await SetStatusAsync(ctx, state, DeploymentStatuses.Aborted, reason);
        string? rolledBackBy = null;
        if (rollback && run.Policy.Rollback is not null)
            rolledBackBy = await ctx.CallActivityAsync<string?>(nameof(DeploymentActivities.DeploymentRollback), state, Activities.Retry);
        Report(ctx, DeploymentStatuses.Aborted, state, run, await Activities.StatisticsAsync(ctx, state, run), reason, rolledBackBy);
        return DeploymentStatuses.Aborted;
    }

    private static bool SweepsNeeded(DeploymentRun run) => run.Dynamic || run.Policy.DeviceTimeoutMinutes is not null;

    private static TimeSpan SweepInterval(DeploymentRun run, DeploymentState state)
    {
        var check = TimeSpan.FromSeconds(state.CheckSeconds);
        if (run.Dynamic || run.Policy.DeviceTimeoutMinutes is not { } minutes) return check;
        var quarter = TimeSpan.FromMinutes(minutes / 4);
        return quarter < check ? check : Min(quarter, TimeSpan.FromMinutes(1));
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static DateTimeOffset Now(TaskOrchestrationContext ctx) => new(ctx.CurrentUtcDateTime, TimeSpan.Zero);

    private static void Report(TaskOrchestrationContext ctx, string status, DeploymentState state, DeploymentRun run, DeploymentStatistics stats, string next,
        string? rolledBackBy = null) =>
        ctx.SetCustomStatus(new DeploymentProgress(status, state.Phase, run.Phases.Count, state.NextBatch, next,
            stats.Overall.Where(c => c.Value > 0).ToDictionary(c => c.Key, c => c.Value), Now(ctx), state.Health, rolledBackBy));

    private static Task SetStatusAsync(TaskOrchestrationContext ctx, DeploymentState state, string status, string? reason) =>
        ctx.CallActivityAsync<bool>(nameof(DeploymentActivities.DeploymentSetStatus), new StatusRequest(state, status, reason), Activities.Retry);

    private static class Activities
    {
        public static TaskOptions Retry => ActivityRetry.Policy;

        public static Task<DeploymentRun?> LoadAsync(TaskOrchestrationContext ctx, DeploymentState state) =>
            ctx.CallActivityAsync<DeploymentRun?>(nameof(DeploymentActivities.DeploymentLoad), state, Retry);

        public static Task<DeploymentStatistics> StatisticsAsync(TaskOrchestrationContext ctx, DeploymentState state, DeploymentRun run) =>
            ctx.CallActivityAsync<DeploymentStatistics>(nameof(DeploymentActivities.DeploymentStatistics), new PhaseStatisticsRequest(state, run.Phases.Count), Retry);
    }
}

public sealed record SweepRequest(DeploymentState State, bool LastPhaseReleased);
public sealed record PhaseStatisticsRequest(DeploymentState State, int Phases);
public sealed record ReleaseRequest(DeploymentState State, int Phase, int Batch);
public sealed record StatusRequest(DeploymentState State, string Status, string? Reason);
public sealed record AbortRequest(DeploymentState State, string Reason);
/// <summary><see cref="Since"/>: when the watch began; samples from then on are judged.</summary>
public sealed record HealthRequest(DeploymentState State, int Phase, HealthGate Gate, int Phases, DateTimeOffset Since);

/// <summary>The deployment orchestration's activities: each a thin call into the deployment services.</summary>
public sealed class DeploymentActivities(DeploymentStore store, DeploymentService deployments, DeploymentSweeper sweep, GroupReleases groupReleases,
    DeploymentHealthWatch health, DeploymentCreation creation)
{
    [Function(nameof(DeploymentLoad))]
    public async Task<DeploymentRun?> DeploymentLoad([ActivityTrigger] DeploymentState state, CancellationToken ct) =>
        await store.FindAsync(state.TenantId, state.DeploymentId, ct) is { } d ? new DeploymentRun(d.Phases, d.Policy, d.Target.Dynamic, d.Status) : null;

    [Function(nameof(DeploymentStatistics))]
    public Task<DeploymentStatistics> DeploymentStatistics([ActivityTrigger] PhaseStatisticsRequest request, CancellationToken ct) =>
        store.StatisticsAsync(request.State.TenantId, request.State.DeploymentId, request.Phases, ct);

    [Function(nameof(DeploymentRelease))]
    public Task<int> DeploymentRelease([ActivityTrigger] ReleaseRequest request, CancellationToken ct) =>
        deployments.AssignBatchAsync(request.State.TenantId, request.State.DeploymentId, request.Phase, request.Batch, ct);

    [Function(nameof(DeploymentSweep))]
    public Task<int> DeploymentSweep([ActivityTrigger] SweepRequest request, CancellationToken ct) =>
        sweep.SweepAsync(request.State.TenantId, request.State.DeploymentId, request.LastPhaseReleased, ct);

    [Function(nameof(DeploymentAbortDevices))]
    public Task<int> DeploymentAbortDevices([ActivityTrigger] AbortRequest request, CancellationToken ct) =>
        deployments.AbortAsync(request.State.TenantId, request.State.DeploymentId, request.Reason, ct);

    [Function(nameof(DeploymentHealth))]
    public Task<HealthCheck> DeploymentHealth([ActivityTrigger] HealthRequest request, CancellationToken ct) =>
        health.CheckAsync(request.State.TenantId, request.State.DeploymentId, request.Phase, request.Phases, request.Gate, request.Since, ct);

    /// <summary>Creates and starts the rollback deployment (once: its id derives from this deployment's); null when no device installed the release.</summary>
    [Function(nameof(DeploymentRollback))]
    public Task<string?> DeploymentRollback([ActivityTrigger] DeploymentState state, [DurableClient] DurableTaskClient durable, CancellationToken ct) =>
        creation.RollBackAsync(state.TenantId, state.DeploymentId, new Orchestrations(durable), ct);

    [Function(nameof(DeploymentSetStatus))]
    public async Task<bool> DeploymentSetStatus([ActivityTrigger] StatusRequest request, CancellationToken ct)
    {
        await store.SetStatusAsync(request.State.TenantId, request.State.DeploymentId, request.Status, request.Reason, ct);
        if (request.Status == DeploymentStatuses.Finished) await groupReleases.RecordFinishedRolloutAsync(request.State.TenantId, request.State.DeploymentId, ct);
        return true;
    }
}
