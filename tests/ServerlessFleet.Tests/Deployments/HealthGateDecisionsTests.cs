using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Deployments;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>The health gate's verdicts and the poll intervals, as pure functions.</summary>
public sealed class HealthGateDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly HealthGate Gate = new("temperature", ">", 80, 10, MaxViolatingPercent: 25, MinDevices: 3);

    [Fact]
    public void Violations_above_the_allowed_share_stop_the_rollout_by_the_gates_action_with_the_numbers()
    {
        var check = HealthGateDecisions.Evaluate(Gate, 1, 4, [90, 85, 50, 40], [], Now);
        Assert.Equal((FailureThreshold.Pause, 4, 2, 50.0), (check.Verdict, check.Reporting, check.Violating, check.ViolatingPercent));
        Assert.Contains("2 of 4 reporting updated devices temperature > 80 (50 %) > 25 % allowed", check.Reason);
        Assert.Equal(FailureThreshold.Abort, HealthGateDecisions.Evaluate(Gate with { Action = FailureThreshold.Abort }, 1, 4, [90, 85, 50, 40], [], Now).Verdict);
    }

    [Fact]
    public void Within_the_allowed_share_and_with_enough_devices_reporting_the_gate_passes()
    {
        Assert.True(HealthGateDecisions.Evaluate(Gate, 0, 4, [90, 50, 40, 60], [], Now).Passed);
        var silent = HealthGateDecisions.Evaluate(Gate, 0, 4, [50, 40], [], Now);
        Assert.Equal(FailureThreshold.Pause, silent.Verdict);
        Assert.Contains("only 2 of 4 updated devices reported temperature", silent.Reason);
    }

    [Theory]
    [InlineData(">", 60, 40, 50.0)]
    [InlineData(">", 40, 60, 0.0)]
    [InlineData("<", 40, 50, 20.0)]
    [InlineData("<", 60, 50, 0.0)]
    public void Regression_is_measured_in_the_direction_the_condition_calls_worse(string op, double updated, double baseline, double worse) =>
        Assert.Equal(worse, HealthGateDecisions.Worse(Gate with { Op = op }, updated, baseline), 3);

    [Fact]
    public void A_regression_against_the_not_yet_updated_devices_stops_the_rollout()
    {
        var gate = Gate with { Threshold = 1000, RegressionPercent = 20 };
        var check = HealthGateDecisions.Evaluate(gate, 0, 3, [60, 60, 60], [40, 40], Now);
        Assert.Equal(FailureThreshold.Pause, check.Verdict);
        Assert.Equal((60.0, 40.0, 2), (check.UpdatedMean, check.BaselineMean, check.BaselineReporting));
        Assert.Contains("50 % worse than 2 not-yet-updated devices", check.Reason);
        Assert.True(HealthGateDecisions.Evaluate(gate, 0, 3, [45, 45, 45], [40, 40], Now).Passed);
    }

    [Fact]
    public void Poll_intervals_stay_within_the_jitter_and_spread_across_it()
    {
        var random = new Random(7);
        var draws = Enumerable.Range(0, 10_000).Select(_ => PollIntervals.Jittered(300, 20, random)).ToList();
        Assert.All(draws, d => Assert.InRange(d, 240, 360));
        Assert.True(draws.Distinct().Count() > 100, "the intervals spread over the range");
        Assert.InRange(draws.Average(), 295, 305);
        Assert.Equal(300, PollIntervals.Jittered(300, 0, random));
        var options = new FleetOptions { DevicePollSeconds = 300, DeploymentPollSeconds = 60, PollJitterPercent = 20 };
        Assert.All(Enumerable.Range(0, 1000).Select(_ => PollIntervals.Next(options, deploymentPending: true, random)), d => Assert.InRange(d, 48, 72));
    }

    [Fact]
    public void Each_invalid_report_in_a_row_doubles_the_interval_up_to_the_cap()
    {
        var options = new FleetOptions { DevicePollSeconds = 300, DeploymentPollSeconds = 60, MaxPollBackoffSeconds = 3600 };
        Assert.Equal([300, 600, 1200, 2400, 3600, 3600], Enumerable.Range(0, 6).Select(n => PollIntervals.Base(options, false, n)));
        Assert.Equal([60, 120, 240], Enumerable.Range(0, 3).Select(n => PollIntervals.Base(options, true, n)));
        Assert.Equal(3600, PollIntervals.Base(options, false, 1000));
    }
}
