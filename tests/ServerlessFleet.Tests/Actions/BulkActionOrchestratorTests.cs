using System.Text.Json;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Orchestration;
using static ServerlessFleet.Shared.Orchestration.HistoryEventKind;

namespace ServerlessFleet.Tests.Actions;

/// <summary>The bulk-action orchestrator's decisions, replayed without storage.</summary>
public sealed class BulkActionOrchestratorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly BulkActionState Start = new("t", "a");

    private static ExecutionResult Step(IReadOnlyList<HistoryEvent> past, params HistoryEvent[] events) =>
        OrchestrationExecutor.Execute(async (ctx, input) => JsonSerializer.Serialize(await BulkActionOrchestrator.RunAsync(ctx, JsonSerializer.Deserialize<BulkActionState>(input!, Json)!), Json),
            "unit", JsonSerializer.Serialize(Start, Json), past, events);

    private static HistoryEvent Result(int id, object value) => new(TaskCompleted, id, Data: JsonSerializer.Serialize(value, Json));

    private static string Next(ExecutionResult r) => ((ScheduleActivityCommand)r.Commands.Single()).Name;

    [Fact]
    public void A_failing_first_batch_stops_the_next_release_at_the_threshold()
    {
        var plan = new ActionPlan(Batches: 4, BatchSize: 5, BatchDelaySeconds: 10, StopThresholdPercent: 50, ExpiresAt: T0.AddHours(1));
        var r = Step([], HistoryEvent.Started(T0), new HistoryEvent(ExecutionStarted));
        Assert.Equal("Actions.Plan", Next(r));
        r = Step(r.History, HistoryEvent.Started(T0), Result(0, plan));
        Assert.Equal("Actions.SetStatus", Next(r));
        r = Step(r.History, HistoryEvent.Started(T0), Result(1, true));
        Assert.Equal("Actions.Progress", Next(r));
        r = Step(r.History, HistoryEvent.Started(T0), Result(2, new ActionProgress(20, 0, 0, 0, 0, 0)));
        Assert.Equal("Actions.ReleaseBatch", Next(r));
        r = Step(r.History, HistoryEvent.Started(T0), Result(3, 5));
        var wait = Assert.IsType<CreateTimerCommand>(Assert.Single(r.Commands));
        Assert.Equal(T0.AddSeconds(10), wait.FireAt);

        // Batch delay over: 3 of 5 finished devices failed (60 % ≥ 50 %) → the rest is canceled, batch 2 is never released.
        r = Step(r.History, HistoryEvent.Started(T0.AddSeconds(10)), new HistoryEvent(TimerFired, wait.Id));
        Assert.Equal("Actions.Progress", Next(r));
        r = Step(r.History, HistoryEvent.Started(T0.AddSeconds(10)), Result(r.Commands.Single().Id, new ActionProgress(20, 5, 2, 3, 0, 0)));
        var end = Assert.IsType<ScheduleActivityCommand>(Assert.Single(r.Commands));
        Assert.Equal("Actions.End", end.Name);
        Assert.Contains("\"pendingOnly\":true", end.Input);
    }

    [Fact]
    public void Pause_event_holds_release_and_is_recorded()
    {
        var plan = new ActionPlan(Batches: 3, BatchSize: 10, BatchDelaySeconds: 30, StopThresholdPercent: null, ExpiresAt: T0.AddHours(1));
        var h = Step([], HistoryEvent.Started(T0), new HistoryEvent(ExecutionStarted)).History;
        h = Step(h, HistoryEvent.Started(T0), Result(0, plan)).History;
        h = Step(h, HistoryEvent.Started(T0), Result(1, true)).History;
        h = Step(h, HistoryEvent.Started(T0), Result(2, new ActionProgress(30, 0, 0, 0, 0, 0))).History;
        var waiting = Step(h, HistoryEvent.Started(T0), Result(3, 10));
        var paused = Step(waiting.History, HistoryEvent.Started(T0.AddSeconds(5)), new HistoryEvent(EventRaised, Name: BulkActionOrchestrator.ControlEvent, Data: "\"pause\""));
        var setStatus = Assert.IsType<ScheduleActivityCommand>(Assert.Single(paused.Commands));
        Assert.Equal("Actions.SetStatus", setStatus.Name);
        Assert.Contains("paused", setStatus.Input);
        var next = Step(paused.History, HistoryEvent.Started(T0.AddSeconds(5)), Result(setStatus.Id, true));
        Assert.Equal("Actions.Progress", Next(next));
        var afterProgress = Step(next.History, HistoryEvent.Started(T0.AddSeconds(5)), Result(((ScheduleActivityCommand)next.Commands.Single()).Id, new ActionProgress(30, 10, 0, 0, 0, 0)));
        // Paused: no ReleaseBatch, only a wait for the next event or poll.
        Assert.IsType<CreateTimerCommand>(Assert.Single(afterProgress.Commands));
    }

    [Theory]
    [InlineData(10, 10, 0, "succeeded")]
    [InlineData(10, 0, 10, "failed")]
    [InlineData(10, 4, 6, "partially_failed")]
    public void Final_status_follows_the_counts(int total, int succeeded, int failed, string expected) =>
        Assert.Equal(expected, BulkActionOrchestrator.FinalStatus(new ActionProgress(total, total, succeeded, failed, 0, 0)));
}
