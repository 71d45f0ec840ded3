namespace ServerlessFleet.Shared.Orchestration;

/// <summary>Work a step asks for: the runtime turns these into queue messages after the step is committed.</summary>
public abstract record OrchestrationCommand(int Id);

public sealed record ScheduleActivityCommand(int Id, string Name, string? Input, RetryPolicy Retry) : OrchestrationCommand(Id);

public sealed record CreateTimerCommand(int Id, DateTimeOffset FireAt) : OrchestrationCommand(Id);

/// <summary>The outcome of running orchestrator code over its history plus new events.</summary>
public sealed record ExecutionResult(
    OrchestrationRuntimeStatus Status,
    IReadOnlyList<HistoryEvent> History,
    IReadOnlyList<OrchestrationCommand> Commands,
    string? CustomStatus,
    string? Output,
    FailureDetails? Failure,
    ContinueAsNewRequest? ContinueAsNew);

public sealed record ContinueAsNewRequest(string? Input, IReadOnlyList<HistoryEvent> CarriedEvents);
