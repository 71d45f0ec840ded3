using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>The deployment's rules and its phase plan, as pure functions.</summary>
public sealed class DeploymentDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DeploymentState Start = new("t", "d", CheckSeconds: 5);

    private static DeploymentRun Run(DeploymentPolicy? policy = null, params DeploymentPhase[] phases) =>
        new(phases.Length == 0 ? [new DeploymentPhase(0, 10, null, 0), new DeploymentPhase(1, 10, null, 0)] : phases,
            policy ?? new DeploymentPolicy(0, null, null, null, null), false, DeploymentStatuses.Pending);

    /// <summary>Statistics with the given per-phase counts (status → count).</summary>
    private static DeploymentStatistics Stats(params Dictionary<string, int>[] phases)
    {
        var overall = DeviceDeploymentStatuses.All.ToDictionary(s => s, s => phases.Sum(p => p.GetValueOrDefault(s)));
        return new DeploymentStatistics(overall, phases.Select(p => (IReadOnlyDictionary<string, int>)DeviceDeploymentStatuses.All.ToDictionary(s => s, s => p.GetValueOrDefault(s))).ToList());
    }

    private static Dictionary<string, int> Phase(int pending = 0, int success = 0, int failure = 0, int downloading = 0) =>
        new() { ["pending"] = pending, ["success"] = success, ["failure"] = failure, ["downloading"] = downloading };

    [Fact]
    public void Progress_texts_name_phases_by_their_index_and_count_the_phases_own_devices()
    {
        // Phase 0 done (10), the last phase (index 1) half done: it counts its own 10 devices, not the fleet's 20.
        var last = Start with { Phase = 1, NextBatch = 1 };
        var wait = Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(last, Run(), Stats(Phase(success: 10), Phase(pending: 5, success: 5)), Now));
        Assert.Equal("phases[1]: 5 of 10 devices finished", wait.Next);
        var first = Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(Start with { NextBatch = 1 }, Run(), Stats(Phase(pending: 7, success: 3), Phase(pending: 10)), Now));
        Assert.Equal("phases[0]: 3 of 10 devices finished", first.Next);
    }

    [Fact]
    public void Failure_threshold_waits_for_min_devices_then_pauses_or_aborts()
    {
        var pause = new DeploymentPolicy(0, null, null, new FailureThreshold(50, 6, FailureThreshold.Pause), null);
        var released = Start with { NextBatch = 1 };
        Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(released, Run(pause), Stats(Phase(pending: 5, failure: 3, success: 2), Phase(pending: 10)), Now));
        Assert.IsType<DeploymentStep.Pause>(DeploymentDecisions.Decide(released, Run(pause), Stats(Phase(pending: 4, failure: 3, success: 3), Phase(pending: 10)), Now));
        Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(released, Run(pause), Stats(Phase(pending: 4, failure: 2, success: 4), Phase(pending: 10)), Now));

        var abort = pause with { FailureThreshold = new FailureThreshold(50, 6, FailureThreshold.Abort) };
        Assert.IsType<DeploymentStep.Abort>(DeploymentDecisions.Decide(released, Run(abort), Stats(Phase(pending: 4, failure: 3, success: 3), Phase(pending: 10)), Now));

        // After a resume only new results count: the failures that paused it do not pause it again.
        var resumed = released with { FinishedAtResume = 6, FailedAtResume = 3 };
        Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(resumed, Run(pause), Stats(Phase(pending: 3, failure: 3, success: 4), Phase(pending: 10)), Now));
    }

    [Fact]
    public void A_phase_waits_for_its_start_then_releases_batch_by_batch()
    {
        var startAt = Now.AddMinutes(30);
        var run = Run(null, new DeploymentPhase(0, 1200, startAt, 0));
        var wait = Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(Start, run, Stats(Phase(pending: 1200)), Now));
        Assert.Equal(startAt, wait.Until);
        Assert.Equal(new DeploymentStep.Release(0, 0), DeploymentDecisions.Decide(Start, run, Stats(Phase(pending: 1200)), startAt));
        Assert.Equal(new DeploymentStep.Release(0, 2), DeploymentDecisions.Decide(Start with { NextBatch = 2 }, run, Stats(Phase(pending: 1200)), startAt));
        Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(Start with { NextBatch = 3 }, run, Stats(Phase(pending: 1200)), startAt));
    }

    [Fact]
    public void The_success_gate_then_the_soak_decide_when_the_next_phase_starts()
    {
        var gated = Run(new DeploymentPolicy(0, null, null, null, 80), new DeploymentPhase(0, 10, null, 15), new DeploymentPhase(1, 10, null, 0));
        var released = Start with { NextBatch = 1 };
        Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(released, gated, Stats(Phase(pending: 3, success: 7), Phase(pending: 10)), Now));
        var soak = Assert.IsType<DeploymentStep.Soak>(DeploymentDecisions.Decide(released, gated, Stats(Phase(pending: 2, success: 8), Phase(pending: 10)), Now));
        Assert.Equal(Now.AddMinutes(15), soak.Until);
        var soaking = released with { SoakUntil = soak.Until };
        Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(soaking, gated, Stats(Phase(success: 10), Phase(pending: 10)), Now.AddMinutes(5)));
        Assert.IsType<DeploymentStep.Advance>(DeploymentDecisions.Decide(soaking, gated, Stats(Phase(success: 10), Phase(pending: 10)), Now.AddMinutes(15)));

        // Every device of the phase finished below the gate: pause; a resume waives the gate for that phase.
        var pause = Assert.IsType<DeploymentStep.Pause>(DeploymentDecisions.Decide(released, gated, Stats(Phase(failure: 3, success: 7), Phase(pending: 10)), Now));
        Assert.StartsWith("success threshold", pause.Reason);
        Assert.IsType<DeploymentStep.Soak>(DeploymentDecisions.Decide(released with { GateWaivedForPhase = 0 }, gated, Stats(Phase(failure: 3, success: 7), Phase(pending: 10)), Now));
    }

    [Fact]
    public void Finishes_when_every_device_is_final_and_a_dynamic_target_only_at_max_devices()
    {
        var last = Start with { Phase = 1, NextBatch = 1 };
        Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(last, Run(), Stats(Phase(success: 10), Phase(success: 9, downloading: 1)), Now));
        Assert.IsType<DeploymentStep.Finish>(DeploymentDecisions.Decide(last, Run(), Stats(Phase(success: 10), Phase(success: 9, failure: 1)), Now));

        var dynamic = new DeploymentRun([new DeploymentPhase(0, 2, null, 0)], new DeploymentPolicy(0, null, 3, null, null), true, DeploymentStatuses.Pending);
        var released = Start with { NextBatch = 1 };
        Assert.IsType<DeploymentStep.Wait>(DeploymentDecisions.Decide(released, dynamic, Stats(Phase(success: 2)), Now));
        Assert.IsType<DeploymentStep.Finish>(DeploymentDecisions.Decide(released, dynamic, Stats(Phase(success: 3)), Now));
    }

    [Fact]
    public void Phases_round_percentages_down_give_the_rest_to_the_last_phase_and_refuse_empty_phases()
    {
        var errors = new ValidationErrors();
        var phases = DeploymentPlanner.Phases([new(10, null, null, null), new(33, null, null, null), new(null, null, null, null)], 299, errors);
        Assert.False(errors.HasErrors);
        Assert.Equal([29, 98, 172], phases.Select(p => p.Size));

        var zero = new ValidationErrors();
        DeploymentPlanner.Phases([new(10, null, null, null), new(null, null, null, null)], 9, zero);
        Assert.True(zero.HasErrors);
        var error = Assert.Throws<FleetException>(zero.ThrowIfAny);
        Assert.Contains("phases[0].batchPercent", error.Errors!.Keys);

        var tooMany = new ValidationErrors();
        DeploymentPlanner.Phases([new(null, 5, null, null), new(null, 5, null, null)], 5, tooMany);
        Assert.True(tooMany.HasErrors);
    }

    [Fact]
    public void Devices_are_split_in_serial_order_with_noartifact_for_incompatible_types()
    {
        var artifact = new DeploymentArtifact("a", "fw", "1", ["screen"], new string('0', 64), 1);
        var devices = Enumerable.Range(0, 1200).Select(i => new TargetDevice($"d{1199 - i:D4}", i % 100 == 0 ? "kiosk" : "screen")).ToList();
        var phases = new[] { new DeploymentPhase(0, 600, null, 0), new DeploymentPhase(1, 600, null, 0) };
        var records = DeploymentPlanner.Records(devices, phases, t => t == "screen" ? artifact : null, Now);
        Assert.Equal("d0000", records[0].Serial);
        Assert.Equal([0, 1], records.Where(r => r.Phase == 0).Select(r => r.Batch).Distinct());
        Assert.Equal(12, records.Count(r => r.Status == DeviceDeploymentStatuses.NoArtifact));
        Assert.All(records.Where(r => r.Status == DeviceDeploymentStatuses.Pending), r => Assert.Equal("a", r.ArtifactId));
    }

    [Fact]
    public void A_pause_applies_once_and_a_resume_counts_the_threshold_from_then_on()
    {
        var stats = Stats(Phase(success: 3, failure: 2), Phase(pending: 10));
        var paused = Assert.IsType<CommandOutcome.Changed>(DeploymentDecisions.OnCommand(Start with { Started = true }, Run(), stats, DeploymentCommands.Pause));
        Assert.Equal((DeploymentStatuses.Paused, "paused by request", true), (paused.Status, paused.Reason, paused.State.Paused));
        Assert.IsType<CommandOutcome.Ignored>(DeploymentDecisions.OnCommand(paused.State, Run(), stats, DeploymentCommands.Pause));

        var resumed = Assert.IsType<CommandOutcome.Changed>(DeploymentDecisions.OnCommand(paused.State, Run(), stats, DeploymentCommands.Resume));
        Assert.Equal((DeploymentStatuses.InProgress, false, 5, 2), (resumed.Status, resumed.State.Paused, resumed.State.FinishedAtResume, resumed.State.FailedAtResume));
        Assert.IsType<CommandOutcome.Ignored>(DeploymentDecisions.OnCommand(resumed.State, Run(), stats, DeploymentCommands.Resume));
    }

    [Fact]
    public void Resuming_a_deployment_that_never_started_keeps_its_stored_status_and_a_success_gate_pause_is_waived_for_its_phase()
    {
        var atGate = Start with { Paused = true, PausedAtSuccessGate = true, Phase = 1 };
        var resumed = Assert.IsType<CommandOutcome.Changed>(DeploymentDecisions.OnCommand(atGate, Run(), Stats(Phase(), Phase()), DeploymentCommands.Resume));
        Assert.Equal((DeploymentStatuses.Pending, 1), (resumed.Status, resumed.State.GateWaivedForPhase));
        Assert.Equal("aborted by request", Assert.IsType<CommandOutcome.Abort>(DeploymentDecisions.OnCommand(Start, Run(), Stats(Phase(), Phase()), DeploymentCommands.Abort)).Reason);
    }

    [Theory]
    [InlineData(null, false, 5)]     // nothing to sweep: the check interval
    [InlineData(2.0, false, 30)]     // a quarter of a 2-minute timeout
    [InlineData(0.1, false, 5)]      // never below one check
    [InlineData(60.0, false, 60)]    // never above one minute
    [InlineData(60.0, true, 5)]      // a dynamic target is swept every check
    public void Sweeps_run_at_a_quarter_of_the_device_timeout_between_one_check_and_one_minute(double? timeoutMinutes, bool dynamic, int seconds)
    {
        var run = Run(new DeploymentPolicy(0, timeoutMinutes, null, null, null)) with { Dynamic = dynamic };
        Assert.Equal(TimeSpan.FromSeconds(seconds), DeploymentDecisions.SweepInterval(run, Start));
        Assert.Equal(timeoutMinutes is not null || dynamic, DeploymentDecisions.SweepsNeeded(run));
    }

    [Fact]
    public void The_wait_ends_at_the_next_check_the_steps_own_time_or_the_next_sweep_whichever_is_first()
    {
        var timed = Run(new DeploymentPolicy(0, 2, null, null, null));
        Assert.Equal(TimeSpan.FromSeconds(5), DeploymentDecisions.WaitTime(Start, Run(), null, Now));
        Assert.Equal(TimeSpan.FromSeconds(2), DeploymentDecisions.WaitTime(Start, Run(), Now.AddSeconds(2), Now));
        Assert.Equal(TimeSpan.FromSeconds(1), DeploymentDecisions.WaitTime(Start with { NextSweep = Now.AddSeconds(1) }, timed, Now.AddSeconds(3), Now));
        Assert.Equal(TimeSpan.FromSeconds(5), DeploymentDecisions.WaitTime(Start with { NextSweep = Now.AddSeconds(1) }, Run(), null, Now));
        Assert.True(DeploymentDecisions.WaitTime(Start, Run(), Now.AddSeconds(-1), Now) <= TimeSpan.Zero);
    }
}
