using System.Text.Json;
using ServerlessFleet.Shared.Orchestration;
using static ServerlessFleet.Shared.Orchestration.HistoryEventKind;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>Orchestrator decisions, driven through the replay executor alone: no storage, no queues.</summary>
public sealed class OrchestrationExecutorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static OrchestratorFunction Wrap<TIn, TOut>(Func<IOrchestrationContext, TIn, Task<TOut>> f) =>
        async (ctx, input) => JsonSerializer.Serialize(await f(ctx, JsonSerializer.Deserialize<TIn>(input ?? "null")!));

    private static ExecutionResult Run<TIn, TOut>(Func<IOrchestrationContext, TIn, Task<TOut>> f, TIn input,
        IReadOnlyList<HistoryEvent> past, params HistoryEvent[] newEvents) =>
        OrchestrationExecutor.Execute(Wrap(f), "unit", JsonSerializer.Serialize(input), past, newEvents);

    private static readonly HistoryEvent[] Start = [HistoryEvent.Started(T0), new(ExecutionStarted)];

    [Fact]
    public void First_step_schedules_the_first_activity_only()
    {
        var result = Run(TestOrchestrations.Sample, new SampleInput(5, 10), [], Start);
        Assert.Equal(OrchestrationRuntimeStatus.Running, result.Status);
        var command = Assert.IsType<ScheduleActivityCommand>(Assert.Single(result.Commands));
        Assert.Equal(("Increment", "5"), (command.Name, command.Input));
    }

    [Fact]
    public void Completed_activity_leads_to_a_timer_at_step_time_plus_one_second()
    {
        var first = Run(TestOrchestrations.Sample, new SampleInput(5, 10), [], Start);
        var second = Run(TestOrchestrations.Sample, new SampleInput(5, 10), first.History,
            HistoryEvent.Started(T0.AddSeconds(3)), new HistoryEvent(TaskCompleted, 0, Data: "6"));
        var timer = Assert.IsType<CreateTimerCommand>(Assert.Single(second.Commands));
        Assert.Equal(T0.AddSeconds(4), timer.FireAt);
        Assert.Equal("{\"stage\":\"timer\"}", second.CustomStatus);
    }

    [Fact]
    public void Event_that_arrives_before_the_wait_is_kept_for_it()
    {
        var h = Run(TestOrchestrations.Sample, new SampleInput(1, 60), [], [.. Start, new HistoryEvent(EventRaised, Name: "Approve", Data: "\"early\"")]).History;
        h = Run(TestOrchestrations.Sample, new SampleInput(1, 60), h, HistoryEvent.Started(T0), new HistoryEvent(TaskCompleted, 0, Data: "2")).History;
        h = Run(TestOrchestrations.Sample, new SampleInput(1, 60), h, HistoryEvent.Started(T0.AddSeconds(1)), new HistoryEvent(TimerFired, 1)).History;
        var done = Run(TestOrchestrations.Sample, new SampleInput(1, 60), h, HistoryEvent.Started(T0.AddSeconds(1)), new HistoryEvent(TaskCompleted, 2, Data: "3"));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.Status);
        Assert.Equal("\"3:early\"", done.Output);
    }

    [Fact]
    public void Event_wait_times_out_when_its_timer_fires_first_and_a_late_event_changes_nothing()
    {
        var h = Run(TestOrchestrations.Sample, new SampleInput(1, 30), [], Start).History;
        h = Run(TestOrchestrations.Sample, new SampleInput(1, 30), h, HistoryEvent.Started(T0), new HistoryEvent(TaskCompleted, 0, Data: "2")).History;
        h = Run(TestOrchestrations.Sample, new SampleInput(1, 30), h, HistoryEvent.Started(T0.AddSeconds(1)), new HistoryEvent(TimerFired, 1)).History;
        var waiting = Run(TestOrchestrations.Sample, new SampleInput(1, 30), h, HistoryEvent.Started(T0.AddSeconds(2)), new HistoryEvent(TaskCompleted, 2, Data: "3"));
        var timeout = Assert.IsType<CreateTimerCommand>(Assert.Single(waiting.Commands));
        Assert.Equal(T0.AddSeconds(32), timeout.FireAt);

        var done = Run(TestOrchestrations.Sample, new SampleInput(1, 30), waiting.History,
            HistoryEvent.Started(T0.AddSeconds(32)), new HistoryEvent(TimerFired, timeout.Id), new HistoryEvent(EventRaised, Name: "Approve", Data: "\"late\""));
        Assert.Equal("\"3:timed-out\"", done.Output);
    }

    [Fact]
    public void Failed_activity_is_an_exception_the_orchestrator_can_catch()
    {
        var first = Run(TestOrchestrations.CatchFailure, 0, [], Start);
        var done = Run(TestOrchestrations.CatchFailure, 0, first.History, HistoryEvent.Started(T0),
            new HistoryEvent(TaskFailed, 0, Data: "activity broke", ErrorType: "InvalidOperationException"));
        Assert.Equal("\"caught Fail: InvalidOperationException: activity broke\"", done.Output);
    }

    [Fact]
    public void Uncaught_exception_fails_the_instance_with_details()
    {
        var result = Run<int, int>((_, _) => throw new InvalidOperationException("boom"), 0, [], Start);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.Status);
        Assert.Equal(new FailureDetails("InvalidOperationException", "boom"), result.Failure);
    }

    [Fact]
    public void Changed_code_is_detected_as_non_deterministic()
    {
        var first = Run(TestOrchestrations.Sample, new SampleInput(1, 1), [], Start);
        var changed = Run<SampleInput, int>(async (ctx, _) => await ctx.CallActivityAsync<int>("SomethingElse"), new SampleInput(1, 1),
            first.History, HistoryEvent.Started(T0), new HistoryEvent(TaskCompleted, 0, Data: "1"));
        Assert.Equal(OrchestrationRuntimeStatus.Failed, changed.Status);
        Assert.Equal("NonDeterminism", changed.Failure!.ErrorType);
    }

    [Fact]
    public void Fan_out_schedules_all_then_completes_when_the_last_result_arrives()
    {
        var first = Run(TestOrchestrations.FanOut, 50, [], Start);
        Assert.Equal(50, first.Commands.Count);
        Assert.Equal(Enumerable.Range(0, 50), first.Commands.Select(c => c.Id));
        var results = Enumerable.Range(0, 49).Select(i => new HistoryEvent(TaskCompleted, i, Data: ((long)i * i).ToString())).Reverse().ToArray();
        var partial = Run(TestOrchestrations.FanOut, 50, first.History, [HistoryEvent.Started(T0), .. results]);
        Assert.Equal(OrchestrationRuntimeStatus.Running, partial.Status);
        Assert.Empty(partial.Commands);
        var done = Run(TestOrchestrations.FanOut, 50, partial.History, HistoryEvent.Started(T0), new HistoryEvent(TaskCompleted, 49, Data: "2401"));
        Assert.Equal(Enumerable.Range(0, 50).Sum(i => (long)i * i).ToString(), done.Output);
    }

    [Fact]
    public void Continue_as_new_carries_unconsumed_events()
    {
        var events = Enumerable.Range(1, 4).Select(i => new HistoryEvent(EventRaised, Name: "Add", Data: "1")).ToArray();
        var result = Run(TestOrchestrations.Counter, 0, [], [.. Start, .. events]);
        Assert.NotNull(result.ContinueAsNew);
        Assert.Equal("3", result.ContinueAsNew!.Input);
        Assert.Single(result.ContinueAsNew.CarriedEvents);
    }

    [Fact]
    public void Guids_and_time_are_the_same_on_every_replay()
    {
        var seen = new List<(Guid, DateTimeOffset)>();
        Func<IOrchestrationContext, int, Task<string>> f = async (ctx, _) =>
        {
            seen.Add((ctx.NewGuid(), ctx.CurrentUtcDateTime));
            await ctx.CreateTimer(ctx.CurrentUtcDateTime.AddMinutes(1));
            return "done";
        };
        var first = Run(f, 0, [], Start);
        Run(f, 0, first.History, HistoryEvent.Started(T0.AddMinutes(1)), new HistoryEvent(TimerFired, 0));
        Assert.Equal(2, seen.Count);
        Assert.Equal(seen[0], seen[1]);
    }
}
