namespace ServerlessFleet.Shared.Orchestration;

/// <summary>
/// Decides what one step does with an instance's state and the inbox messages it read: control messages
/// first, then the events replayed through the orchestrator code. Duplicate and stale messages (an earlier
/// generation, a result already in history) are consumed without effect: that is what makes redelivery safe.
/// </summary>
internal static class StepPlanner
{
    private const int MaxContinuationsPerStep = 20;

    public sealed record Step(IReadOnlyList<string> Consumed, IReadOnlyList<OutgoingMessage> Outgoing);

    public static Step Plan(InstanceState state, IReadOnlyList<InboxMessage> messages, OrchestrationRegistry registry, DateTimeOffset now)
    {
        var consumed = new List<string>();
        var outgoing = new List<OutgoingMessage>();
        state.LastUpdatedTime = now;
        state.Episode++;

        if (state.RuntimeStatus.IsTerminal())
            return new Step(messages.Select(m => m.RowKey).ToList(), outgoing);

        foreach (var control in messages.Where(m => m.Kind is InboxKind.Suspend or InboxKind.Resume or InboxKind.Terminate))
        {
            consumed.Add(control.RowKey);
            switch (control.Kind)
            {
                case InboxKind.Terminate:
                    state.RuntimeStatus = OrchestrationRuntimeStatus.Terminated;
                    state.Output = control.Data;
                    return new Step(messages.Select(m => m.RowKey).ToList(), outgoing);
                case InboxKind.Suspend:
                    state.RuntimeStatus = OrchestrationRuntimeStatus.Suspended;
                    break;
                case InboxKind.Resume when state.RuntimeStatus == OrchestrationRuntimeStatus.Suspended:
                    state.RuntimeStatus = state.History.Count == 0 ? OrchestrationRuntimeStatus.Pending : OrchestrationRuntimeStatus.Running;
                    break;
            }
        }
        // A suspended instance keeps its other messages for when it resumes.
        if (state.RuntimeStatus == OrchestrationRuntimeStatus.Suspended) return new Step(consumed, outgoing);

        var newEvents = new List<HistoryEvent> { HistoryEvent.Started(now) };
        foreach (var m in messages.Where(m => m.Kind is not (InboxKind.Suspend or InboxKind.Resume or InboxKind.Terminate)))
        {
            consumed.Add(m.RowKey);
            if (ToEvent(state, m, newEvents) is { } e) newEvents.Add(e);
        }
        if (newEvents.Count == 1) return new Step(consumed, outgoing);

        var orchestrator = registry.Orchestrator(state.Name);
        if (orchestrator is null)
        {
            state.RuntimeStatus = OrchestrationRuntimeStatus.Failed;
            state.Failure = new FailureDetails("UnknownOrchestrator", $"No orchestrator named '{state.Name}' is registered.");
            return new Step(consumed, outgoing);
        }

        var result = OrchestrationExecutor.Execute(orchestrator, state.InstanceId, state.Input, state.History, newEvents);
        for (var i = 0; result.ContinueAsNew is { } again && i < MaxContinuationsPerStep; i++)
        {
            state.Generation++;
            state.Input = again.Input;
            var restart = new List<HistoryEvent> { HistoryEvent.Started(now), new(HistoryEventKind.ExecutionStarted) };
            restart.AddRange(again.CarriedEvents);
            result = OrchestrationExecutor.Execute(orchestrator, state.InstanceId, state.Input, [], restart);
        }

        state.History = result.History.ToList();
        state.RuntimeStatus = result.ContinueAsNew is null ? result.Status : OrchestrationRuntimeStatus.Running;
        state.CustomStatus = result.CustomStatus ?? state.CustomStatus;
        state.Output = result.Output;
        state.Failure = result.Failure;
        if (result.ContinueAsNew is { } pending)
        {
            // Still continuing after the per-step limit: finish the restart in the next step.
            state.Generation++;
            state.Input = pending.Input;
            state.History = [];
            outgoing.Add(OrchestrationMessenger.Wake(state.InstanceId));
            return new Step(consumed, outgoing);
        }

        foreach (var command in result.Commands)
        {
            outgoing.Add(command switch
            {
                ScheduleActivityCommand a => OrchestrationMessenger.Activity(
                    new ActivityMessage(state.InstanceId, state.Generation, a.Id, a.Name, a.Input, 1, a.Retry), TimeSpan.Zero),
                CreateTimerCommand t => OrchestrationMessenger.Timer(state.InstanceId, state.Generation, t.Id, t.FireAt, now),
                _ => throw new InvalidOperationException(),
            });
        }
        return new Step(consumed, outgoing);
    }

    private static HistoryEvent? ToEvent(InstanceState state, InboxMessage m, List<HistoryEvent> pending)
    {
        bool Seen(HistoryEventKind kind, int id) =>
            state.History.Any(e => e.Kind == kind && e.Id == id) || pending.Any(e => e.Kind == kind && e.Id == id);

        switch (m.Kind)
        {
            case InboxKind.Start when m.Generation == state.Generation && !state.History.Any(e => e.Kind == HistoryEventKind.ExecutionStarted):
                state.RuntimeStatus = OrchestrationRuntimeStatus.Running;
                return new HistoryEvent(HistoryEventKind.ExecutionStarted);
            case InboxKind.Result when m.Generation == state.Generation && Seen(HistoryEventKind.TaskScheduled, m.Id)
                                       && !Seen(HistoryEventKind.TaskCompleted, m.Id) && !Seen(HistoryEventKind.TaskFailed, m.Id):
                return m.Failed
                    ? new HistoryEvent(HistoryEventKind.TaskFailed, m.Id, Data: m.Data, ErrorType: m.ErrorType)
                    : new HistoryEvent(HistoryEventKind.TaskCompleted, m.Id, Data: m.Data);
            case InboxKind.Timer when m.Generation == state.Generation && Seen(HistoryEventKind.TimerCreated, m.Id) && !Seen(HistoryEventKind.TimerFired, m.Id):
                return new HistoryEvent(HistoryEventKind.TimerFired, m.Id);
            case InboxKind.Event:
                return new HistoryEvent(HistoryEventKind.EventRaised, Name: m.Name, Data: m.Data);
            default:
                return null;
        }
    }
}
