using System.Text.Json.Serialization;

namespace ServerlessFleet.Shared.Orchestration;

public static class OrchestrationQueues
{
    /// <summary>Wake-ups and timers of instances.</summary>
    public const string Control = "orchestration-control";
    /// <summary>Activity work items.</summary>
    public const string Activities = "orchestration-activities";
    /// <summary>Instance state, inbox and outbox rows.</summary>
    public const string Table = "orchestrations";
}

/// <summary>A message on the control queue: wake an instance, or a timer that is due at <see cref="FireAt"/>.</summary>
public sealed record ControlMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("instanceId")] string InstanceId,
    [property: JsonPropertyName("generation")] int Generation = 0,
    [property: JsonPropertyName("id")] int Id = -1,
    [property: JsonPropertyName("fireAt")] DateTimeOffset? FireAt = null)
{
    public const string Wake = "wake";
    public const string Timer = "timer";
}

/// <summary>An activity work item; redelivery of the same item is recognised by instance, generation and id.</summary>
public sealed record ActivityMessage(
    [property: JsonPropertyName("instanceId")] string InstanceId,
    [property: JsonPropertyName("generation")] int Generation,
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("input")] string? Input,
    [property: JsonPropertyName("attempt")] int Attempt,
    [property: JsonPropertyName("retry")] RetryPolicy Retry);

/// <summary>A queue message a committed step still has to send.</summary>
public sealed record OutgoingMessage(string Queue, string Text, TimeSpan Delay);
