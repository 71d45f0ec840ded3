namespace ServerlessFleet.Shared.Orchestration;

/// <summary>Orchestrator code as the runtime calls it: JSON input in, JSON output out.</summary>
public delegate Task<string?> OrchestratorFunction(IOrchestrationContext context, string? input);

/// <summary>
/// Replays orchestrator code over its past history, then feeds it the new events, and reports what the code
/// asked for next. Pure: no storage, no clock, no randomness; the same inputs give the same result, which
/// is what makes orchestrator decisions testable on their own and replays safe.
/// </summary>
public static class OrchestrationExecutor
{
    public static ExecutionResult Execute(OrchestratorFunction orchestrator, string instanceId, string? input,
        IReadOnlyList<HistoryEvent> past, IReadOnlyList<HistoryEvent> newEvents)
    {
        var context = new ReplayContext(instanceId, input);
        var scheduler = new ReplayScheduler();
        Task<string?>? run = null;
        var recorded = new Dictionary<int, HistoryEvent>();

        context.IsReplaying = true;
        foreach (var e in past) Apply(e);
        context.IsReplaying = false;
        foreach (var e in newEvents) Apply(e);

        void Apply(HistoryEvent e)
        {
            switch (e.Kind)
            {
                case HistoryEventKind.OrchestratorStarted:
                    context.CurrentUtcDateTime = e.Time ?? context.CurrentUtcDateTime;
                    break;
                case HistoryEventKind.ExecutionStarted:
                    run ??= Task.Factory.StartNew(() => orchestrator(context, input), CancellationToken.None,
                        TaskCreationOptions.None, scheduler).Unwrap();
                    break;
                case HistoryEventKind.TaskScheduled or HistoryEventKind.TimerCreated:
                    recorded[e.Id] = e;
                    break;
                case HistoryEventKind.TaskCompleted:
                case HistoryEventKind.TimerFired:
                    context.Complete(e.Id, e.Data);
                    break;
                case HistoryEventKind.TaskFailed:
                    context.Fail(e.Id, e.ErrorType ?? "Exception", e.Data ?? "");
                    break;
                case HistoryEventKind.EventRaised:
                    context.Raise(e.Name!, e.Data);
                    break;
            }
            scheduler.RunUntilIdle();
        }

        // Everything the history says was scheduled must be what the code asks for now, in the same order.
        foreach (var (id, e) in recorded)
        {
            if (!context.Issued.TryGetValue(id, out var command) || !Matches(e, command))
                return Failed($"Non-deterministic orchestrator: history has {e.Kind} #{id} ({e.Name}) but the code now does {Describe(command)}.");
        }

        var history = past.Concat(newEvents).ToList();
        if (run is null)
            return new ExecutionResult(OrchestrationRuntimeStatus.Pending, history, [], null, null, null, null);

        if (run.IsCompleted)
        {
            if (run.IsFaulted)
            {
                var error = run.Exception!.InnerException ?? run.Exception;
                return new ExecutionResult(OrchestrationRuntimeStatus.Failed, history, [], context.CustomStatus, null,
                    new FailureDetails(error.GetType().Name, error.Message), null);
            }
            if (run.IsCanceled)
                return new ExecutionResult(OrchestrationRuntimeStatus.Failed, history, [], context.CustomStatus, null,
                    new FailureDetails(nameof(TaskCanceledException), "The orchestrator was canceled."), null);
            if (context.ContinueAsNewRequested is { } again)
                return new ExecutionResult(OrchestrationRuntimeStatus.Running, history, [], context.CustomStatus, null, null,
                    again with { CarriedEvents = context.UnconsumedEvents().ToList() });
            return new ExecutionResult(OrchestrationRuntimeStatus.Completed, history, [], context.CustomStatus, run.Result, null, null);
        }

        var commands = context.Issued.Where(c => !recorded.ContainsKey(c.Key)).Select(c => c.Value).ToList();
        foreach (var command in commands)
        {
            history.Add(command switch
            {
                ScheduleActivityCommand a => new HistoryEvent(HistoryEventKind.TaskScheduled, a.Id, a.Name, a.Input),
                CreateTimerCommand t => new HistoryEvent(HistoryEventKind.TimerCreated, t.Id, Time: t.FireAt),
                _ => throw new InvalidOperationException(),
            });
        }
        return new ExecutionResult(OrchestrationRuntimeStatus.Running, history, commands, context.CustomStatus, null, null, null);

        ExecutionResult Failed(string message) =>
            new(OrchestrationRuntimeStatus.Failed, past.Concat(newEvents).ToList(), [], context.CustomStatus, null, new FailureDetails("NonDeterminism", message), null);
    }

    private static bool Matches(HistoryEvent e, OrchestrationCommand command) => (e.Kind, command) switch
    {
        (HistoryEventKind.TaskScheduled, ScheduleActivityCommand a) => a.Name == e.Name,
        (HistoryEventKind.TimerCreated, CreateTimerCommand) => true,
        _ => false,
    };

    private static string Describe(OrchestrationCommand? command) => command switch
    {
        ScheduleActivityCommand a => $"activity '{a.Name}'",
        CreateTimerCommand => "a timer",
        _ => "nothing",
    };
}
