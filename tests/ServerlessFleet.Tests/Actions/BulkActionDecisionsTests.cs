using ServerlessFleet.Shared.Actions;

namespace ServerlessFleet.Tests.Actions;

/// <summary>The bulk action's decisions, without storage or engine.</summary>
public sealed class BulkActionDecisionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly BulkActionState Start = new("t", "a", Started: true);

    [Fact]
    public void Batches_are_released_a_delay_apart()
    {
        var plan = new ActionPlan(Batches: 3, BatchSize: 10, BatchDelaySeconds: 30, StopThresholdPercent: null, ExpiresAt: T0.AddHours(1));
        var progress = new ActionProgress(30, 0, 0, 0, 0, 0);
        Assert.Equal(new BulkActionStep.Release(0), BulkActionDecisions.Decide(Start, plan, progress, T0));
        var released = Start with { NextBatch = 1, NextReleaseAt = T0.AddSeconds(30) };
        Assert.Equal(new BulkActionStep.Wait(T0.AddSeconds(5)), BulkActionDecisions.Decide(released, plan, progress, T0));
        Assert.Equal(new BulkActionStep.Wait(T0.AddSeconds(30)), BulkActionDecisions.Decide(released, plan, progress, T0.AddSeconds(28)));
        Assert.Equal(new BulkActionStep.Release(1), BulkActionDecisions.Decide(released, plan, progress, T0.AddSeconds(30)));
    }

    [Fact]
    public void A_failing_first_batch_stops_the_next_release_at_the_threshold()
    {
        var plan = new ActionPlan(Batches: 4, BatchSize: 5, BatchDelaySeconds: 10, StopThresholdPercent: 50, ExpiresAt: T0.AddHours(1));
        var state = Start with { NextBatch = 1, NextReleaseAt = T0.AddSeconds(10) };
        // 3 of 5 finished devices failed (60 % ≥ 50 %): stop, before batch 2 is due.
        Assert.IsType<BulkActionStep.StopReleasing>(BulkActionDecisions.Decide(state, plan, new ActionProgress(20, 5, 2, 3, 0, 0), T0.AddSeconds(10)));
        // Below the batch size nothing is judged yet: 1 failure of 1 is not a rate.
        Assert.IsType<BulkActionStep.Release>(BulkActionDecisions.Decide(state, plan, new ActionProgress(20, 1, 0, 1, 0, 0), T0.AddSeconds(10)));
        // Stopped, with the unreleased devices canceled, every device is final: the action finishes.
        var stopped = state with { Stopped = true };
        Assert.Equal(new BulkActionStep.Finish(ActionStatuses.PartiallyFailed),
            BulkActionDecisions.Decide(stopped, plan, new ActionProgress(20, 20, 2, 3, 0, 15), T0.AddSeconds(11)));
    }

    [Fact]
    public void A_paused_action_releases_nothing_and_only_polls()
    {
        var plan = new ActionPlan(Batches: 3, BatchSize: 10, BatchDelaySeconds: 30, StopThresholdPercent: null, ExpiresAt: T0.AddHours(1));
        var paused = Start with { NextBatch = 1, NextReleaseAt = T0, Paused = true };
        Assert.Equal(new BulkActionStep.Wait(T0.AddSeconds(5)), BulkActionDecisions.Decide(paused, plan, new ActionProgress(30, 10, 10, 0, 0, 0), T0));
        Assert.Equal("paused", BulkActionDecisions.Phase(paused, plan));
    }

    [Fact]
    public void A_paused_action_past_its_expiry_ends()
    {
        var plan = new ActionPlan(Batches: 3, BatchSize: 10, BatchDelaySeconds: 30, StopThresholdPercent: null, ExpiresAt: T0.AddMinutes(10));
        var paused = Start with { NextBatch = 1, Paused = true };
        var progress = new ActionProgress(30, 10, 10, 0, 0, 0);
        // The last wait before expiry ends at the expiry, not a poll later.
        Assert.Equal(new BulkActionStep.Wait(plan.ExpiresAt), BulkActionDecisions.Decide(paused, plan, progress, plan.ExpiresAt.AddSeconds(-2)));
        Assert.IsType<BulkActionStep.Expire>(BulkActionDecisions.Decide(paused, plan, progress, plan.ExpiresAt));
    }

    [Theory]
    [InlineData(10, 10, 0, "succeeded")]
    [InlineData(10, 0, 10, "failed")]
    [InlineData(10, 4, 6, "partially_failed")]
    public void Final_status_follows_the_counts(int total, int succeeded, int failed, string expected) =>
        Assert.Equal(expected, BulkActionDecisions.FinalStatus(new ActionProgress(total, total, succeeded, failed, 0, 0)));

    [Fact]
    public void Pause_and_resume_apply_once_and_cancel_always_ends_the_action()
    {
        var paused = Assert.IsType<ActionCommandOutcome.Changed>(BulkActionDecisions.OnCommand(Start, ActionCommands.Pause));
        Assert.Equal((true, ActionStatuses.Paused), (paused.State.Paused, paused.Status));
        Assert.IsType<ActionCommandOutcome.Ignored>(BulkActionDecisions.OnCommand(paused.State, ActionCommands.Pause));
        var resumed = Assert.IsType<ActionCommandOutcome.Changed>(BulkActionDecisions.OnCommand(paused.State, ActionCommands.Resume));
        Assert.Equal((false, ActionStatuses.Running), (resumed.State.Paused, resumed.Status));
        Assert.IsType<ActionCommandOutcome.Ignored>(BulkActionDecisions.OnCommand(Start, ActionCommands.Resume));
        Assert.IsType<ActionCommandOutcome.Cancel>(BulkActionDecisions.OnCommand(paused.State, ActionCommands.Cancel));
        Assert.IsType<ActionCommandOutcome.Ignored>(BulkActionDecisions.OnCommand(Start, "reboot"));
    }

    [Fact]
    public void Released_devices_still_without_their_delivery_get_it_again_once_the_redelivery_time_has_passed()
    {
        var plan = new ActionPlan(Batches: 3, BatchSize: 10, BatchDelaySeconds: 300, StopThresholdPercent: null, ExpiresAt: T0.AddHours(1));
        var released = Start with { NextBatch = 2, NextReleaseAt = T0.AddSeconds(300), NextRedeliverAt = T0.AddSeconds(60) };
        var missing = new ActionProgress(30, 15, 0, 0, 0, 0);
        // 20 released, 15 delivered: the poll wait stops at the redelivery time, then the rest is sent again.
        Assert.Equal(new BulkActionStep.Wait(T0.AddSeconds(60)), BulkActionDecisions.Decide(released, plan, missing, T0.AddSeconds(58)));
        Assert.Equal(new BulkActionStep.Redeliver(2), BulkActionDecisions.Decide(released, plan, missing, T0.AddSeconds(60)));
        // Every released device delivered, or the action stopped releasing: nothing to send again.
        Assert.IsType<BulkActionStep.Wait>(BulkActionDecisions.Decide(released, plan, missing with { Delivered = 20 }, T0.AddSeconds(60)));
        Assert.IsNotType<BulkActionStep.Redeliver>(BulkActionDecisions.Decide(released with { Stopped = true }, plan, missing, T0.AddSeconds(60)));
    }
}
