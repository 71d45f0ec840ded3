using ServerlessFleet.Functions.Deployments;
using ServerlessFleet.Shared.Deployments;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>
/// The deployment orchestrator's own sequencing (which activity, in which order, when it waits, what a command does),
/// run as plain code on a scripted context: the decisions are <see cref="DeploymentDecisions"/>'s, tested on their own;
/// the end-to-end tests run the same orchestrator on the real engine.
/// </summary>
public sealed class DeploymentOrchestrationTests
{
    private static readonly DateTime Start = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly DeploymentState State = new("t", "d", CheckSeconds: 10);
    private static readonly RollbackTarget RollbackRelease = new("app", "1.0", null);

    private const string Load = nameof(DeploymentActivities.DeploymentLoad);
    private const string Statistics = nameof(DeploymentActivities.DeploymentStatistics);
    private const string Release = nameof(DeploymentActivities.DeploymentRelease);
    private const string SetStatus = nameof(DeploymentActivities.DeploymentSetStatus);
    private const string AbortDevices = nameof(DeploymentActivities.DeploymentAbortDevices);
    private const string Rollback = nameof(DeploymentActivities.DeploymentRollback);
    private const string Sweep = nameof(DeploymentActivities.DeploymentSweep);

    private static DeploymentRun Run(DeploymentPolicy? policy = null, int phases = 2) =>
        new(Enumerable.Range(0, phases).Select(i => new DeploymentPhase(i, 2, null, 0)).ToList(), policy ?? new DeploymentPolicy(0, null, null, null, null),
            false, DeploymentStatuses.Pending);

    /// <summary>Two devices a phase: a released phase's devices report <paramref name="outcome"/> once <paramref name="finishedAfter"/> has passed.</summary>
    private static ScriptedOrchestrationContext Context(DeploymentRun? run, string outcome = DeviceDeploymentStatuses.Success, TimeSpan finishedAfter = default,
        DeploymentState? state = null)
    {
        ScriptedOrchestrationContext ctx = null!;
        ctx = new ScriptedOrchestrationContext(state ?? State, Start)
            .On<DeploymentState, DeploymentRun?>(Load, _ => run)
            .On<ReleaseRequest, int>(Release, _ => 2)
            .On<StatusRequest, bool>(SetStatus, _ => true)
            .On<AbortRequest, int>(AbortDevices, _ => 2)
            .On<DeploymentState, string?>(Rollback, s => s.DeploymentId + "r")
            .On<SweepRequest, int>(Sweep, _ => 0)
            .On<PhaseStatisticsRequest, DeploymentStatistics>(Statistics, r => Stats(ctx, r.Phases, outcome, finishedAfter));
        return ctx;
    }

    private static DeploymentStatistics Stats(ScriptedOrchestrationContext ctx, int phases, string outcome, TimeSpan finishedAfter)
    {
        var perPhase = Enumerable.Range(0, phases).Select(p =>
        {
            var released = ctx.Calls.FirstOrDefault(c => c.Name == Release && ((ReleaseRequest)c.Input!).Phase == p);
            var status = released.Name is null ? DeviceDeploymentStatuses.Pending
                : ctx.CurrentUtcDateTime - released.At >= finishedAfter ? outcome : DeviceDeploymentStatuses.Downloading;
            return (IReadOnlyDictionary<string, int>)new Dictionary<string, int> { [status] = 2 };
        }).ToList();
        var overall = perPhase.SelectMany(p => p).GroupBy(c => c.Key).ToDictionary(g => g.Key, g => g.Sum(c => c.Value));
        return new DeploymentStatistics(overall, perPhase);
    }

    private static IEnumerable<(string Status, string? Reason)> Statuses(ScriptedOrchestrationContext ctx) =>
        ctx.Inputs<StatusRequest>(SetStatus).Select(s => (s.Status, s.Reason));

    [Fact]
    public async Task Phases_are_released_in_order_and_the_deployment_finishes()
    {
        var ctx = Context(Run());

        Assert.Equal(DeploymentStatuses.Finished, await DeploymentOrchestration.RunAsync(ctx));

        Assert.Equal([Load, Statistics, SetStatus, Release, Statistics, Statistics, Release, Statistics, SetStatus], ctx.CallNames);
        Assert.Equal([(0, 0), (1, 0)], ctx.Inputs<ReleaseRequest>(Release).Select(r => (r.Phase, r.Batch)));
        Assert.Equal([(DeploymentStatuses.InProgress, (string?)null), (DeploymentStatuses.Finished, null)], Statuses(ctx));
        Assert.Equal(DeploymentStatuses.Finished, Assert.IsType<DeploymentProgress>(ctx.CustomStatus).Status);
    }

    [Fact]
    public async Task A_pause_holds_the_next_phase_until_resume()
    {
        var resumeAt = Start.AddSeconds(100);
        var ctx = Context(Run(), finishedAfter: TimeSpan.FromSeconds(30))
            .Raise(Start.AddSeconds(5), DeploymentOrchestration.ControlEvent, DeploymentCommands.Pause)
            .Raise(resumeAt, DeploymentOrchestration.ControlEvent, DeploymentCommands.Resume);

        Assert.Equal(DeploymentStatuses.Finished, await DeploymentOrchestration.RunAsync(ctx));

        Assert.Equal([(DeploymentStatuses.InProgress, (string?)null), (DeploymentStatuses.Paused, "paused by request"), (DeploymentStatuses.InProgress, null),
            (DeploymentStatuses.Finished, null)], Statuses(ctx));
        var second = ctx.Calls.Single(c => c.Name == Release && ((ReleaseRequest)c.Input!).Phase == 1);
        Assert.True(second.At >= resumeAt, $"phase 1 was released at {second.At:O}, before the resume at {resumeAt:O}");
    }

    [Fact]
    public async Task An_operator_abort_aborts_the_devices_first_and_never_rolls_back()
    {
        var ctx = Context(Run(new DeploymentPolicy(0, null, null, null, null, Rollback: RollbackRelease)), finishedAfter: TimeSpan.FromHours(1))
            .Raise(Start.AddSeconds(5), DeploymentOrchestration.ControlEvent, DeploymentCommands.Abort);

        Assert.Equal(DeploymentStatuses.Aborted, await DeploymentOrchestration.RunAsync(ctx));

        Assert.Equal([AbortDevices, SetStatus, Statistics], ctx.CallNames.SkipWhile(n => n != AbortDevices));
        Assert.Equal("aborted by request", Assert.Single(ctx.Inputs<AbortRequest>(AbortDevices)).Reason);
        Assert.DoesNotContain(Rollback, ctx.CallNames);
    }

    [Fact]
    public async Task A_threshold_abort_rolls_the_updated_devices_back_and_says_so()
    {
        var policy = new DeploymentPolicy(0, null, null, new FailureThreshold(50, 1, FailureThreshold.Abort), null, Rollback: RollbackRelease);
        var ctx = Context(Run(policy), outcome: DeviceDeploymentStatuses.Failure);

        Assert.Equal(DeploymentStatuses.Aborted, await DeploymentOrchestration.RunAsync(ctx));

        Assert.Equal([AbortDevices, SetStatus, Rollback, Statistics], ctx.CallNames.SkipWhile(n => n != AbortDevices));
        Assert.StartsWith("failure threshold", Assert.Single(ctx.Inputs<AbortRequest>(AbortDevices)).Reason);
        Assert.Equal("dr", Assert.IsType<DeploymentProgress>(ctx.CustomStatus).RolledBackBy);
        Assert.Single(ctx.Inputs<ReleaseRequest>(Release));
    }

    [Fact]
    public async Task A_repeated_pause_changes_nothing()
    {
        var ctx = Context(Run(phases: 1), finishedAfter: TimeSpan.FromSeconds(60))
            .Raise(Start.AddSeconds(5), DeploymentOrchestration.ControlEvent, DeploymentCommands.Pause)
            .Raise(Start.AddSeconds(6), DeploymentOrchestration.ControlEvent, DeploymentCommands.Pause)
            .Raise(Start.AddSeconds(20), DeploymentOrchestration.ControlEvent, DeploymentCommands.Resume);

        Assert.Equal(DeploymentStatuses.Finished, await DeploymentOrchestration.RunAsync(ctx));

        Assert.Single(Statuses(ctx), s => s.Status == DeploymentStatuses.Paused);
    }

    [Fact]
    public async Task Device_timeouts_are_swept_at_a_quarter_of_the_timeout()
    {
        var ctx = Context(Run(new DeploymentPolicy(0, 2, null, null, null), phases: 1), finishedAfter: TimeSpan.FromMinutes(3));

        Assert.Equal(DeploymentStatuses.Finished, await DeploymentOrchestration.RunAsync(ctx));

        var sweeps = ctx.Calls.Where(c => c.Name == Sweep).Select(c => c.At).ToList();
        Assert.True(sweeps.Count >= 6, $"{sweeps.Count} sweeps in 3 minutes");
        Assert.All(sweeps.Zip(sweeps.Skip(1)), pair => Assert.Equal(TimeSpan.FromSeconds(30), pair.Second - pair.First));
    }

    [Fact]
    public async Task A_long_wait_continues_as_new_after_40_steps_with_its_state()
    {
        var ctx = Context(Run(phases: 1), finishedAfter: TimeSpan.FromDays(1));

        Assert.Equal("", await DeploymentOrchestration.RunAsync(ctx));

        var next = Assert.IsType<DeploymentState>(ctx.ContinuedAsNewWith);
        Assert.Equal((true, 1), (next.Started, next.NextBatch));
        Assert.Equal(40, ctx.CallNames.Count(n => n == Statistics));
        Assert.Single(ctx.Inputs<ReleaseRequest>(Release));
    }

    [Fact]
    public async Task A_deployment_saved_after_its_start_is_run_in_the_same_generation()
    {
        // Continuing as new once it appears would drop a suspend that arrived with that load.
        var run = Run();
        var loads = 0;
        var ctx = Context(run).On<DeploymentState, DeploymentRun?>(Load, _ => ++loads <= 2 ? null : run);

        Assert.Equal(DeploymentStatuses.Finished, await ctx.RunToEndAsync(DeploymentOrchestration.RunAsync));

        Assert.Equal(1, ctx.Generations);
        Assert.Equal([Load, Load, Load, Statistics, SetStatus, Release], ctx.CallNames.Take(6));
        Assert.Equal([(0, 0), (1, 0)], ctx.Inputs<ReleaseRequest>(Release).Select(r => (r.Phase, r.Batch)));
    }

    [Fact]
    public async Task A_deployment_never_saved_ends_after_the_grace_period()
    {
        var ctx = Context(run: null);

        Assert.Equal(ServerlessFleet.Functions.Orchestration.OrchestrationStarts.NeverSaved, await DeploymentOrchestration.RunAsync(ctx));

        Assert.All(ctx.CallNames, n => Assert.Equal(Load, n));
        Assert.True(ctx.CurrentUtcDateTime - Start >= ServerlessFleet.Functions.Orchestration.OrchestrationStarts.SaveGracePeriod);
        Assert.Null(ctx.ContinuedAsNewWith);
    }
}
