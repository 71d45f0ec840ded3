namespace ServerlessFleet.Shared.Deployments;

/// <summary>Where a deployment's orchestration stands; carried across continue-as-new.</summary>
public sealed record DeploymentState(
    string TenantId,
    string DeploymentId,
    int CheckSeconds = 10,
    int Phase = 0,
    int NextBatch = 0,
    DateTimeOffset? SoakUntil = null,
    bool Paused = false,
    string? PauseReason = null,
    bool PausedAtSuccessGate = false,
    int FinishedAtResume = 0,
    int FailedAtResume = 0,
    int? GateWaivedForPhase = null,
    DateTimeOffset? NextSweep = null,
    bool Started = false,
    DateTimeOffset? HealthUntil = null,
    int? HealthSettledPhase = null,
    HealthCheck? Health = null);

/// <summary>What the orchestration needs from the stored deployment.</summary>
public sealed record DeploymentRun(IReadOnlyList<DeploymentPhase> Phases, DeploymentPolicy Policy, bool Dynamic, string Status);

/// <summary>The next thing a deployment does.</summary>
public abstract record DeploymentStep
{
    public sealed record Release(int Phase, int Batch) : DeploymentStep;
    public sealed record Soak(DateTimeOffset Until) : DeploymentStep;
    public sealed record Advance : DeploymentStep;
    /// <summary>Hold the deployment; <see cref="AtSuccessGate"/> when a phase finished below the success threshold (a resume waives it).</summary>
    public sealed record Pause(string Reason, bool AtSuccessGate = false) : DeploymentStep;
    public sealed record Abort(string Reason) : DeploymentStep;
    public sealed record Finish : DeploymentStep;
    /// <summary>Start watching the phase's updated devices until <see cref="Until"/> (the health gate's window).</summary>
    public sealed record WatchHealth(DateTimeOffset Until) : DeploymentStep;
    /// <summary>The window is over: evaluate the health gate for <see cref="Phase"/>.</summary>
    public sealed record CheckHealth(int Phase) : DeploymentStep;
    /// <summary>Nothing to do until something changes, or until <see cref="Until"/> at the latest.</summary>
    public sealed record Wait(DateTimeOffset? Until, string Next) : DeploymentStep;
}

/// <summary>What an operator's command does to a running deployment.</summary>
public abstract record CommandOutcome
{
    /// <summary>The command does not apply (pausing a paused deployment, a repeat): nothing changes.</summary>
    public sealed record Ignored : CommandOutcome;
    /// <summary>The deployment goes on in <see cref="State"/> and is stored as <see cref="Status"/>.</summary>
    public sealed record Changed(DeploymentState State, string Status, string? Reason) : CommandOutcome;
    public sealed record Abort(string Reason) : CommandOutcome;
}

/// <summary>
/// The deployment's decisions as a pure function of its state, its plan and the current statistics, so each rule
/// (failure threshold, start times, batches, success gate, soak, completion) is tested without storage.
/// </summary>
public static class DeploymentDecisions
{
    /// <summary>
    /// After a phase: watch its updated devices for the health gate's window on a durable timer, then have the gate
    /// judged; null once the phase's gate passed (or was waived by a resume) or when there is no gate.
    /// </summary>
    private static DeploymentStep? HealthStep(DeploymentState s, DeploymentRun run, DateTimeOffset now, string number)
    {
        if (run.Policy.HealthGate is not { } gate || s.HealthSettledPhase == s.Phase) return null;
        if (s.HealthUntil is not { } until) return new DeploymentStep.WatchHealth(now + TimeSpan.FromMinutes(gate.WindowMinutes));
        return until > now ? new DeploymentStep.Wait(until, $"{number}: watching {gate.Metric} of the updated devices until {until:O}") : new DeploymentStep.CheckHealth(s.Phase);
    }

    public static DeploymentStep Decide(DeploymentState s, DeploymentRun run, DeploymentStatistics stats, DateTimeOffset now)
    {
        // The failure threshold counts results since the last resume, so resuming is not undone by the failures that paused it.
        if (!s.Paused && run.Policy.FailureThreshold is { } threshold)
        {
            var finished = stats.Succeeded + stats.Failed - s.FinishedAtResume;
            var failed = stats.Failed - s.FailedAtResume;
            if (finished > 0 && finished >= threshold.MinDevices && failed * 100.0 / finished >= threshold.Percent)
            {
                var reason = $"failure threshold: {failed} of {finished} finished devices failed ({failed * 100.0 / finished:0.#} % ≥ {threshold.Percent} %)";
                return threshold.Action == FailureThreshold.Abort ? new DeploymentStep.Abort(reason) : new DeploymentStep.Pause(reason);
            }
        }
        if (s.Paused) return new DeploymentStep.Wait(null, $"paused ({s.PauseReason}); waiting for resume or abort");

        var phase = run.Phases[s.Phase];
        // Texts name a phase as the API does (phases[i].index), so they never disagree with the phase list.
        var number = $"phases[{s.Phase}]";
        if (s.NextBatch == 0 && phase.StartAt is { } startAt && startAt > now)
            return new DeploymentStep.Wait(startAt, $"{number} starts at {startAt:O}");
        if (s.NextBatch < DeploymentPlanner.Batches(phase)) return new DeploymentStep.Release(s.Phase, s.NextBatch);

        var finalInPhase = stats.PhaseFinal(s.Phase);
        var inPhase = stats.PhaseTotal(s.Phase);
        if (s.Phase < run.Phases.Count - 1)
        {
            var eligible = stats.PhaseEligible(s.Phase);
            var succeededPercent = eligible == 0 ? 100.0 : stats.PhaseSucceeded(s.Phase) * 100.0 / eligible;
            var gateOpen = s.GateWaivedForPhase == s.Phase
                || (run.Policy.SuccessThresholdPercent is { } needed ? succeededPercent >= needed : finalInPhase >= inPhase);
            if (gateOpen)
            {
                if (HealthStep(s, run, now, number) is { } health) return health;
                if (s.SoakUntil is null)
                    return phase.SoakMinutes > 0 ? new DeploymentStep.Soak(now + TimeSpan.FromMinutes(phase.SoakMinutes)) : new DeploymentStep.Advance();
                return s.SoakUntil <= now ? new DeploymentStep.Advance() : new DeploymentStep.Wait(s.SoakUntil, $"{number} soaking until {s.SoakUntil:O}");
            }
            if (finalInPhase >= inPhase)
                return new DeploymentStep.Pause($"success threshold: {number} finished with {succeededPercent:0.#} % succeeded, {run.Policy.SuccessThresholdPercent} % needed",
                    AtSuccessGate: true);
            return new DeploymentStep.Wait(null, $"{number}: {finalInPhase} of {inPhase} devices finished");
        }

        var allFinal = stats.Final >= stats.Total;
        var complete = !run.Dynamic || (run.Policy.MaxDevices is { } max && stats.Total >= max);
        if (allFinal && complete) return HealthStep(s, run, now, number) ?? new DeploymentStep.Finish();
        // The last phase counts its own devices, as every other phase does.
        return new DeploymentStep.Wait(null, allFinal ? "waiting for more devices to match the filter"
            : $"{number}: {stats.PhaseFinal(s.Phase)} of {stats.PhaseTotal(s.Phase)} devices finished");
    }

    /// <summary>An operator's command as the orchestration applies it; a command that no longer applies changes nothing.</summary>
    public static CommandOutcome OnCommand(DeploymentState s, DeploymentRun run, DeploymentStatistics stats, string command)
    {
        switch (command)
        {
            case DeploymentCommands.Pause when !s.Paused:
                var paused = s with { Paused = true, PauseReason = "paused by request", PausedAtSuccessGate = false };
                return new CommandOutcome.Changed(paused, DeploymentStatuses.Paused, paused.PauseReason);
            case DeploymentCommands.Resume when s.Paused:
                // Resuming after a failed success gate means: go on with the next phase anyway. The failure threshold
                // counts from here, so resuming is not undone by the failures that paused it.
                var waived = s.PausedAtSuccessGate ? s.Phase : s.GateWaivedForPhase;
                var resumed = s with { Paused = false, PauseReason = null, PausedAtSuccessGate = false, FinishedAtResume = stats.Succeeded + stats.Failed,
                    FailedAtResume = stats.Failed, GateWaivedForPhase = waived };
                return new CommandOutcome.Changed(resumed, resumed.Started ? DeploymentStatuses.InProgress : run.Status, null);
            case DeploymentCommands.Abort:
                return new CommandOutcome.Abort("aborted by request");
            default:
                return new CommandOutcome.Ignored();
        }
    }

    /// <summary>Timeouts and dynamic joins are swept periodically; a deployment with neither needs no sweep.</summary>
    public static bool SweepsNeeded(DeploymentRun run) => run.Dynamic || run.Policy.DeviceTimeoutMinutes is not null;

    /// <summary>A dynamic target is swept every check; a device timeout at a quarter of its length, between one check and one minute.</summary>
    public static TimeSpan SweepInterval(DeploymentRun run, DeploymentState s)
    {
        var check = TimeSpan.FromSeconds(s.CheckSeconds);
        if (run.Dynamic || run.Policy.DeviceTimeoutMinutes is not { } minutes) return check;
        var quarter = TimeSpan.FromMinutes(minutes / 4);
        return quarter < check ? check : quarter < TimeSpan.FromMinutes(1) ? quarter : TimeSpan.FromMinutes(1);
    }

    /// <summary>
    /// How long to wait for a command before looking again: one check interval, or less when the step's own time
    /// (<paramref name="until"/>) or the next sweep comes first; zero or less means look again at once.
    /// </summary>
    public static TimeSpan WaitTime(DeploymentState s, DeploymentRun run, DateTimeOffset? until, DateTimeOffset now)
    {
        var wait = TimeSpan.FromSeconds(s.CheckSeconds);
        if (until is { } u && u - now < wait) wait = u - now;
        if (SweepsNeeded(run) && s.NextSweep is { } sweep && sweep - now < wait) wait = sweep - now;
        return wait;
    }
}
