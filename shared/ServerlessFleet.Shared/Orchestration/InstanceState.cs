namespace ServerlessFleet.Shared.Orchestration;

/// <summary>The state row of an instance, as the runtime works with it.</summary>
internal sealed class InstanceState
{
    public required string InstanceId { get; init; }
    public required string Name { get; init; }
    public string? TenantId { get; init; }
    public OrchestrationRuntimeStatus RuntimeStatus { get; set; }
    public string? Input { get; set; }
    public string? Output { get; set; }
    public string? CustomStatus { get; set; }
    public FailureDetails? Failure { get; set; }
    public DateTimeOffset CreatedTime { get; init; }
    public DateTimeOffset LastUpdatedTime { get; set; }
    /// <summary>Bumped by continue-as-new; results and timers of an earlier generation are ignored.</summary>
    public int Generation { get; set; }
    /// <summary>Number of committed steps; names the step's outbox row.</summary>
    public long Episode { get; set; }
    public List<HistoryEvent> History { get; set; } = [];
    public Azure.ETag ETag { get; set; }

    public OrchestrationStatus ToStatus() => new(InstanceId, Name, RuntimeStatus,
        OrchestrationJson.Element(CustomStatus), OrchestrationJson.Element(Input), OrchestrationJson.Element(Output),
        Failure, CreatedTime, LastUpdatedTime, TenantId);
}

/// <summary>One message waiting in an instance's inbox.</summary>
internal sealed record InboxMessage(
    string RowKey,
    InboxKind Kind,
    DateTimeOffset EnqueuedAt,
    int Generation = 0,
    int Id = -1,
    string? Name = null,
    string? Data = null,
    string? ErrorType = null,
    bool Failed = false);

internal enum InboxKind { Start, Result, Timer, Event, Suspend, Resume, Terminate }

internal static class InboxKeys
{
    public const string Prefix = "m-";
    public static string Start(int generation) => $"m-a-start-{generation:D6}";
    public static string Result(int generation, int id) => $"m-r-{generation:D6}-{id:D8}";
    public static string Timer(int generation, int id) => $"m-t-{generation:D6}-{id:D8}";
    public static string Event(DateTimeOffset at, string eventId) => $"m-e-{at.UtcTicks:D19}-{eventId}";
    public static string Control(DateTimeOffset at) => $"m-c-{at.UtcTicks:D19}-{Guid.NewGuid():n}";
}
