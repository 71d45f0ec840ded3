using System.Text.Json.Serialization;

namespace ServerlessFleet.Shared.Orchestration;

[JsonConverter(typeof(JsonStringEnumConverter<HistoryEventKind>))]
public enum HistoryEventKind
{
    /// <summary>A step began at <see cref="HistoryEvent.Time"/>.</summary>
    OrchestratorStarted,
    ExecutionStarted,
    TaskScheduled,
    TaskCompleted,
    TaskFailed,
    TimerCreated,
    TimerFired,
    EventRaised,
}

/// <summary>
/// One entry of an instance's history. <see cref="Id"/> numbers the activities and timers the code issued,
/// in issue order, so a replay can match every result to the await that asked for it.
/// </summary>
public sealed record HistoryEvent(
    HistoryEventKind Kind,
    int Id = -1,
    string? Name = null,
    string? Data = null,
    DateTimeOffset? Time = null,
    string? ErrorType = null)
{
    public static HistoryEvent Started(DateTimeOffset now) => new(HistoryEventKind.OrchestratorStarted, Time: now);
}
