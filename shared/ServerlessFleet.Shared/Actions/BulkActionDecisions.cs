namespace ServerlessFleet.Shared.Actions;

/// <summary>Where a bulk action stands; carried across continue-as-new.</summary>
/// <param name="NextRedeliverAt">When released devices still without their delivery have it sent again.</param>
public sealed record BulkActionState(string TenantId, string ActionId, int NextBatch = 0, bool Paused = false, bool Stopped = false,
    DateTimeOffset? NextReleaseAt = null, bool Started = false, int PollSeconds = 5, int RedeliverSeconds = 60, DateTimeOffset? NextRedeliverAt = null);

public sealed record ActionPlan(int Batches, int BatchSize, int BatchDelaySeconds, double? StopThresholdPercent, DateTimeOffset ExpiresAt);

/// <summary>
/// The orchestration's custom status as of its last step (<see cref="At"/>). <see cref="Phase"/> is releasing, paused,
/// stopped or awaiting confirmations while the action runs, and the action's final status once it has ended.
/// </summary>
public sealed record BulkActionStatus(string Phase, int NextBatch, int Batches, ActionProgress Progress, DateTimeOffset At);

/// <summary>The next thing a bulk action does.</summary>
public abstract record BulkActionStep
{
    /// <summary>Too many failures: nothing more is sent; what was delivered may still finish.</summary>
    public sealed record StopReleasing : BulkActionStep;
    public sealed record Release(int Batch) : BulkActionStep;
    /// <summary>Released devices still wait for their delivery (a lost message, a host that died with it): send it again.</summary>
    public sealed record Redeliver(int ReleasedBatches) : BulkActionStep;
    public sealed record Finish(string Status) : BulkActionStep;
    /// <summary>The action's time is up, paused or not: unanswered devices time out and the action ends.</summary>
    public sealed record Expire : BulkActionStep;
    public sealed record Wait(DateTimeOffset Until) : BulkActionStep;
}

/// <summary>What an operator's command does to a running bulk action.</summary>
public abstract record ActionCommandOutcome
{
    /// <summary>The command does not apply (pausing a paused action, a repeat): nothing changes.</summary>
    public sealed record Ignored : ActionCommandOutcome;
    /// <summary>The action goes on in <see cref="State"/> and is stored as <see cref="Status"/>.</summary>
    public sealed record Changed(BulkActionState State, string Status) : ActionCommandOutcome;
    /// <summary>Every open device is canceled and the action ends canceled.</summary>
    public sealed record Cancel : ActionCommandOutcome;
}

/// <summary>
/// The bulk action's decisions as a pure function of its state, plan, progress and the time: rolling batches a
/// delay apart, the stop threshold judged before every release, completion, and expiry.
/// </summary>
public static class BulkActionDecisions
{
    public static BulkActionStep Decide(BulkActionState s, ActionPlan plan, ActionProgress progress, DateTimeOffset now)
    {
        var finished = progress.Succeeded + progress.Failed;
        if (!s.Stopped && plan.StopThresholdPercent is { } threshold && finished >= plan.BatchSize && progress.Failed * 100.0 / finished >= threshold)
            return new BulkActionStep.StopReleasing();
        if (AllReleased(s, plan) && progress.Finished >= progress.Total) return new BulkActionStep.Finish(FinalStatus(progress));
        if (now >= plan.ExpiresAt) return new BulkActionStep.Expire();
        var undelivered = !s.Stopped && progress.Delivered < Released(s, plan, progress.Total);
        if (undelivered && s.NextRedeliverAt <= now) return new BulkActionStep.Redeliver(s.NextBatch);
        var releasing = !s.Paused && !AllReleased(s, plan);
        if (releasing && (s.NextReleaseAt is null || s.NextReleaseAt <= now)) return new BulkActionStep.Release(s.NextBatch);

        var until = now.AddSeconds(s.PollSeconds);
        if (releasing && s.NextReleaseAt < until) until = s.NextReleaseAt.Value;
        if (undelivered && s.NextRedeliverAt < until) until = s.NextRedeliverAt.Value;
        return new BulkActionStep.Wait(until < plan.ExpiresAt ? until : plan.ExpiresAt);
    }

    public static bool AllReleased(BulkActionState s, ActionPlan plan) => s.Stopped || s.NextBatch >= plan.Batches;

    /// <summary>How many devices the released batches hold.</summary>
    public static int Released(BulkActionState s, ActionPlan plan, int total) => (int)Math.Min((long)s.NextBatch * plan.BatchSize, total);

    public static string Phase(BulkActionState s, ActionPlan plan) =>
        s.Paused ? "paused" : s.Stopped ? "stopped" : AllReleased(s, plan) ? "awaiting confirmations" : "releasing";

    /// <summary>succeeded when every device succeeded, failed when none did, partially_failed in between.</summary>
    public static string FinalStatus(ActionProgress p) =>
        p.Succeeded == p.Total ? ActionStatuses.Succeeded : p.Succeeded == 0 ? ActionStatuses.Failed : ActionStatuses.PartiallyFailed;

    /// <summary>An operator's command as the orchestration applies it; a command that no longer applies changes nothing.</summary>
    public static ActionCommandOutcome OnCommand(BulkActionState s, string command) => command switch
    {
        ActionCommands.Pause when !s.Paused => new ActionCommandOutcome.Changed(s with { Paused = true }, ActionStatuses.Paused),
        ActionCommands.Resume when s.Paused => new ActionCommandOutcome.Changed(s with { Paused = false }, ActionStatuses.Running),
        ActionCommands.Cancel => new ActionCommandOutcome.Cancel(),
        _ => new ActionCommandOutcome.Ignored(),
    };
}
