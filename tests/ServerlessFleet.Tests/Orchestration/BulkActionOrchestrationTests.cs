using ServerlessFleet.Functions.Actions;
using ServerlessFleet.Shared.Actions;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>The bulk-action orchestrator's sequencing on a scripted context: batches, their delay, commands and expiry.</summary>
public sealed class BulkActionOrchestrationTests
{
    private static readonly DateTime Start = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly BulkActionState State = new("t", "a");

    private const string Plan = nameof(BulkActionActivities.ActionPlan);
    private const string Progress = nameof(BulkActionActivities.ActionProgress);
    private const string Release = nameof(BulkActionActivities.ActionReleaseBatch);
    private const string End = nameof(BulkActionActivities.ActionEnd);
    private const string SetStatus = nameof(BulkActionActivities.ActionSetStatus);
    private const string Redeliver = nameof(BulkActionActivities.ActionRedeliver);

    /// <summary>Three batches of 10, 30 s apart, expiring after an hour; a released batch's devices answer <paramref name="answer"/> after <paramref name="answerAfter"/>.</summary>
    /// <param name="firstDeliveryLost">Batch 0's delivery messages are lost: its devices get their command only once it is sent again.</param>
    private static ScriptedOrchestrationContext Context(TimeSpan answerAfter, string answer = DeviceActionStatuses.Succeeded, ActionPlan? plan = null,
        bool firstDeliveryLost = false)
    {
        plan ??= new ActionPlan(3, 10, 30, null, new DateTimeOffset(Start.AddHours(1), TimeSpan.Zero));
        ScriptedOrchestrationContext ctx = null!;
        ctx = new ScriptedOrchestrationContext(State, Start)
            .On<BulkActionState, ActionPlan?>(Plan, _ => plan)
            .On<BatchRequest, int>(Release, _ => 10)
            .On<EndRequest, int>(End, _ => 0)
            .On<ActionStatusRequest, bool>(SetStatus, _ => true)
            .On<BatchRequest, int>(Redeliver, _ => 10)
            .On<BulkActionState, ActionProgress>(Progress, _ =>
            {
                var redelivered = ctx.Calls.FirstOrDefault(c => c.Name == Redeliver);
                var released = ctx.Calls.Where(c => c.Name == Release)
                    .Select(c => firstDeliveryLost && ((BatchRequest)c.Input!).Batch == 0 ? redelivered : c).Where(c => c.Name is not null).ToList();
                var answered = released.Count(c => ctx.CurrentUtcDateTime - c.At >= answerAfter) * 10;
                var ended = ctx.Calls.Any(c => c.Name == End);
                var succeeded = answer == DeviceActionStatuses.Succeeded ? answered : 0;
                var failed = answered - succeeded;
                return new ActionProgress(30, released.Count * 10, succeeded, failed, 0, ended ? 30 - answered : 0);
            });
        return ctx;
    }

    [Fact]
    public async Task Devices_whose_delivery_was_lost_get_it_again_after_the_redelivery_time()
    {
        var ctx = Context(answerAfter: TimeSpan.FromSeconds(5), firstDeliveryLost: true);

        Assert.Equal(ActionStatuses.Succeeded, await ctx.RunToEndAsync(BulkActionOrchestration.RunAsync));

        var again = Assert.Single(ctx.Calls, c => c.Name == Redeliver);
        var lastRelease = ctx.Calls.Last(c => c.Name == Release);
        Assert.Equal(lastRelease.At.AddSeconds(State.RedeliverSeconds), again.At);
        Assert.Equal(3, ((BatchRequest)again.Input!).Batch);
    }

    private static IEnumerable<string> Statuses(ScriptedOrchestrationContext ctx) => ctx.Inputs<ActionStatusRequest>(SetStatus).Select(s => s.Status);

    [Fact]
    public async Task Batches_go_out_their_delay_apart_and_the_action_succeeds()
    {
        var ctx = Context(answerAfter: TimeSpan.FromSeconds(5));

        Assert.Equal(ActionStatuses.Succeeded, await ctx.RunToEndAsync(BulkActionOrchestration.RunAsync));

        var releases = ctx.Calls.Where(c => c.Name == Release).ToList();
        Assert.Equal([0, 1, 2], releases.Select(r => ((BatchRequest)r.Input!).Batch));
        Assert.All(releases.Zip(releases.Skip(1)), p => Assert.Equal(TimeSpan.FromSeconds(30), p.Second.At - p.First.At));
        Assert.Equal([ActionStatuses.Running, ActionStatuses.Succeeded], Statuses(ctx));
    }

    [Fact]
    public async Task A_paused_action_releases_nothing_until_resumed()
    {
        var resumeAt = Start.AddMinutes(5);
        var ctx = Context(answerAfter: TimeSpan.FromSeconds(5))
            .Raise(Start.AddSeconds(10), BulkActionOrchestration.ControlEvent, ActionCommands.Pause)
            .Raise(Start.AddSeconds(11), BulkActionOrchestration.ControlEvent, ActionCommands.Pause)
            .Raise(resumeAt, BulkActionOrchestration.ControlEvent, ActionCommands.Resume);

        Assert.Equal(ActionStatuses.Succeeded, await ctx.RunToEndAsync(BulkActionOrchestration.RunAsync));

        Assert.Equal([ActionStatuses.Running, ActionStatuses.Paused, ActionStatuses.Running, ActionStatuses.Succeeded], Statuses(ctx));
        Assert.True(ctx.Generations > 1, "the pause outlasted a generation, so it was carried across continue-as-new");
        var second = ctx.Calls.First(c => c.Name == Release && ((BatchRequest)c.Input!).Batch == 1);
        Assert.True(second.At >= resumeAt, $"batch 1 went out at {second.At:O}, before the resume at {resumeAt:O}");
    }

    [Fact]
    public async Task A_cancel_ends_every_open_device_and_the_action()
    {
        var ctx = Context(answerAfter: TimeSpan.FromHours(2))
            .Raise(Start.AddSeconds(10), BulkActionOrchestration.ControlEvent, ActionCommands.Cancel);

        Assert.Equal(ActionStatuses.Canceled, await ctx.RunToEndAsync(BulkActionOrchestration.RunAsync));

        var end = Assert.Single(ctx.Inputs<EndRequest>(End));
        Assert.Equal((DeviceActionStatuses.Canceled, false), (end.Status, end.PendingOnly));
        Assert.Single(ctx.Inputs<BatchRequest>(Release));
    }

    [Fact]
    public async Task Unanswered_devices_time_out_when_the_action_expires()
    {
        var ctx = Context(answerAfter: TimeSpan.FromHours(2));

        Assert.Equal(ActionStatuses.Failed, await ctx.RunToEndAsync(BulkActionOrchestration.RunAsync));

        var end = Assert.Single(ctx.Inputs<EndRequest>(End));
        Assert.Equal((DeviceActionStatuses.TimedOut, false), (end.Status, end.PendingOnly));
        Assert.True(ctx.CurrentUtcDateTime >= Start.AddHours(1));
    }

    [Fact]
    public async Task Failures_past_the_stop_threshold_withdraw_what_was_not_delivered()
    {
        var plan = new ActionPlan(3, 10, 30, 50, new DateTimeOffset(Start.AddHours(1), TimeSpan.Zero));
        var ctx = Context(answerAfter: TimeSpan.FromSeconds(5), answer: DeviceActionStatuses.Failed, plan: plan);

        Assert.Equal(ActionStatuses.Failed, await ctx.RunToEndAsync(BulkActionOrchestration.RunAsync));

        var end = Assert.Single(ctx.Inputs<EndRequest>(End));
        Assert.Equal((DeviceActionStatuses.Canceled, true), (end.Status, end.PendingOnly));
        Assert.Single(ctx.Inputs<BatchRequest>(Release));
    }
}
