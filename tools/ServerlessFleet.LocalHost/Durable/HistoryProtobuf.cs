using DurableTask.Core;
using DurableTask.Core.Command;
using DurableTask.Core.History;
using Google.Protobuf.WellKnownTypes;
using P = Microsoft.DurableTask.Protobuf;

namespace ServerlessFleet.LocalHost.Durable;

/// <summary>
/// Translation between the engine's history and actions and the worker's protobuf messages, as the Durable
/// extension does for out-of-process workers.
/// </summary>
public static class HistoryProtobuf
{
    public static P.HistoryEvent ToProto(HistoryEvent e)
    {
        var proto = new P.HistoryEvent { EventId = e.EventId, Timestamp = Timestamp.FromDateTime(Utc(e.Timestamp)) };
        switch (e)
        {
            case ExecutionStartedEvent s:
                proto.ExecutionStarted = new P.ExecutionStartedEvent
                {
                    Name = s.Name,
                    Version = s.Version,
                    Input = s.Input,
                    OrchestrationInstance = Instance(s.OrchestrationInstance),
                    ParentInstance = s.ParentInstance is { } parent ? new P.ParentInstanceInfo
                    {
                        Name = parent.Name,
                        Version = parent.Version,
                        TaskScheduledId = parent.TaskScheduleId,
                        OrchestrationInstance = Instance(parent.OrchestrationInstance),
                    } : null,
                    ScheduledStartTimestamp = s.ScheduledStartTime is { } at ? Timestamp.FromDateTime(Utc(at)) : null,
                };
                break;
            case ContinueAsNewEvent n: proto.ContinueAsNew = new P.ContinueAsNewEvent { Input = n.Result }; break;
            case ExecutionCompletedEvent c:
                proto.ExecutionCompleted = new P.ExecutionCompletedEvent
                {
                    OrchestrationStatus = (P.OrchestrationStatus)c.OrchestrationStatus,
                    Result = c.Result,
                    FailureDetails = Failure(c.FailureDetails),
                };
                break;
            case ExecutionTerminatedEvent t: proto.ExecutionTerminated = new P.ExecutionTerminatedEvent { Input = t.Input }; break;
            case ExecutionSuspendedEvent s: proto.ExecutionSuspended = new P.ExecutionSuspendedEvent { Input = s.Reason }; break;
            case ExecutionResumedEvent r: proto.ExecutionResumed = new P.ExecutionResumedEvent { Input = r.Reason }; break;
            case EventRaisedEvent r: proto.EventRaised = new P.EventRaisedEvent { Name = r.Name, Input = r.Input }; break;
            case EventSentEvent s: proto.EventSent = new P.EventSentEvent { Name = s.Name, Input = s.Input, InstanceId = s.InstanceId }; break;
            case TaskScheduledEvent s: proto.TaskScheduled = new P.TaskScheduledEvent { Name = s.Name, Version = s.Version, Input = s.Input }; break;
            case TaskCompletedEvent c: proto.TaskCompleted = new P.TaskCompletedEvent { TaskScheduledId = c.TaskScheduledId, Result = c.Result }; break;
            case TaskFailedEvent f:
                proto.TaskFailed = new P.TaskFailedEvent { TaskScheduledId = f.TaskScheduledId, FailureDetails = Failure(f.FailureDetails) ?? Failure(f.Reason, f.Details) };
                break;
            case SubOrchestrationInstanceCreatedEvent c:
                proto.SubOrchestrationInstanceCreated = new P.SubOrchestrationInstanceCreatedEvent { Name = c.Name, Version = c.Version, InstanceId = c.InstanceId, Input = c.Input };
                break;
            case SubOrchestrationInstanceCompletedEvent c:
                proto.SubOrchestrationInstanceCompleted = new P.SubOrchestrationInstanceCompletedEvent { TaskScheduledId = c.TaskScheduledId, Result = c.Result };
                break;
            case SubOrchestrationInstanceFailedEvent f:
                proto.SubOrchestrationInstanceFailed = new P.SubOrchestrationInstanceFailedEvent { TaskScheduledId = f.TaskScheduledId, FailureDetails = Failure(f.FailureDetails) ?? Failure(f.Reason, f.Details) };
                break;
            case TimerCreatedEvent t: proto.TimerCreated = new P.TimerCreatedEvent { FireAt = Timestamp.FromDateTime(Utc(t.FireAt)) }; break;
            case TimerFiredEvent t: proto.TimerFired = new P.TimerFiredEvent { TimerId = t.TimerId, FireAt = Timestamp.FromDateTime(Utc(t.FireAt)) }; break;
            case OrchestratorStartedEvent: proto.OrchestratorStarted = new P.OrchestratorStartedEvent(); break;
            case OrchestratorCompletedEvent: proto.OrchestratorCompleted = new P.OrchestratorCompletedEvent(); break;
            case GenericEvent g: proto.GenericEvent = new P.GenericEvent { Data = g.Data }; break;
            default: throw new NotSupportedException($"History event {e.EventType} has no protobuf form.");
        }
        return proto;
    }

    public static OrchestratorAction ToAction(P.OrchestratorAction a) => a.OrchestratorActionTypeCase switch
    {
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.ScheduleTask => new ScheduleTaskOrchestratorAction
        {
            Id = a.Id, Name = a.ScheduleTask.Name, Version = a.ScheduleTask.Version, Input = a.ScheduleTask.Input,
        },
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.CreateSubOrchestration => new CreateSubOrchestrationAction
        {
            Id = a.Id, Name = a.CreateSubOrchestration.Name, Version = a.CreateSubOrchestration.Version,
            InstanceId = a.CreateSubOrchestration.InstanceId, Input = a.CreateSubOrchestration.Input,
        },
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.CreateTimer => new CreateTimerOrchestratorAction
        {
            Id = a.Id, FireAt = a.CreateTimer.FireAt.ToDateTime(),
        },
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.SendEvent => new SendEventOrchestratorAction
        {
            Id = a.Id, EventName = a.SendEvent.Name, EventData = a.SendEvent.Data,
            Instance = new OrchestrationInstance { InstanceId = a.SendEvent.Instance.InstanceId, ExecutionId = a.SendEvent.Instance.ExecutionId },
        },
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.CompleteOrchestration => Complete(a),
        _ => throw new NotSupportedException($"The orchestrator asked for {a.OrchestratorActionTypeCase}, which this host does not run."),
    };

    private static OrchestrationCompleteOrchestratorAction Complete(P.OrchestratorAction a)
    {
        var complete = a.CompleteOrchestration;
        var action = new OrchestrationCompleteOrchestratorAction
        {
            Id = a.Id,
            OrchestrationStatus = (OrchestrationStatus)complete.OrchestrationStatus,
            Result = complete.Result,
            Details = complete.Details,
            NewVersion = complete.NewVersion,
            FailureDetails = Failure(complete.FailureDetails),
        };
        // Events that arrived before a continue-as-new are handed to the next generation.
        foreach (var carried in complete.CarryoverEvents)
            if (carried.EventRaised is { } raised)
                action.CarryoverEvents.Add(new EventRaisedEvent(carried.EventId, raised.Input) { Name = raised.Name });
        return action;
    }

    public static FailureDetails? Failure(P.TaskFailureDetails? f) => f is null ? null
        : new FailureDetails(f.ErrorType, f.ErrorMessage, f.StackTrace, Failure(f.InnerFailure), f.IsNonRetriable);

    public static P.TaskFailureDetails? Failure(FailureDetails? f) => f is null ? null : new P.TaskFailureDetails
    {
        ErrorType = f.ErrorType ?? "",
        ErrorMessage = f.ErrorMessage ?? "",
        StackTrace = f.StackTrace,
        InnerFailure = Failure(f.InnerFailure),
        IsNonRetriable = f.IsNonRetriable,
    };

    private static P.TaskFailureDetails Failure(string? reason, string? details) =>
        new() { ErrorType = "TaskFailed", ErrorMessage = reason ?? "", StackTrace = details };

    private static P.OrchestrationInstance Instance(OrchestrationInstance i) => new() { InstanceId = i.InstanceId, ExecutionId = i.ExecutionId };

    private static DateTime Utc(DateTime t) => t.Kind == DateTimeKind.Utc ? t : DateTime.SpecifyKind(t, DateTimeKind.Utc);
}
