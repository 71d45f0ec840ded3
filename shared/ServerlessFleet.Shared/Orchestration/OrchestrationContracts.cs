using System.Text.Json;
using System.Text.Json.Serialization;

namespace ServerlessFleet.Shared.Orchestration;

/// <summary>
/// What orchestrator code may do. Everything it awaits must come from here: the code is replayed over its
/// history on every step, so time, ids and results come from the context, never from the machine.
/// </summary>
public interface IOrchestrationContext
{
    string InstanceId { get; }
    /// <summary>The time of the current step, recorded in history: the same on every replay.</summary>
    DateTimeOffset CurrentUtcDateTime { get; }
    bool IsReplaying { get; }

    Task<T> CallActivityAsync<T>(string name, object? input = null, RetryPolicy? retry = null);
    Task CallActivityAsync(string name, object? input = null, RetryPolicy? retry = null);
    Task CreateTimer(DateTimeOffset fireAt);
    Task<T> WaitForExternalEvent<T>(string name);
    /// <summary>Waits for the event or throws <see cref="TimeoutException"/> when <paramref name="timeout"/> passes first.</summary>
    Task<T> WaitForExternalEvent<T>(string name, TimeSpan timeout);
    void SetCustomStatus(object? status);
    /// <summary>Restarts the orchestration with new input and empty history once the code returns; unconsumed events carry over.</summary>
    void ContinueAsNew(object? input);
    Guid NewGuid();
}

/// <summary>Activity retries: attempts in all, and an exponential backoff between them.</summary>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan FirstRetryDelay, double BackoffCoefficient = 2.0, TimeSpan? MaxRetryDelay = null)
{
    public static RetryPolicy None { get; } = new(1, TimeSpan.Zero);

    public TimeSpan DelayBefore(int attempt)
    {
        var delay = FirstRetryDelay.TotalMilliseconds * Math.Pow(BackoffCoefficient, Math.Max(0, attempt - 2));
        var capped = MaxRetryDelay is { } max ? Math.Min(delay, max.TotalMilliseconds) : delay;
        return TimeSpan.FromMilliseconds(capped);
    }
}

/// <summary>What an activity knows about its invocation; <see cref="IdempotencyKey"/> is the same on every redelivery.</summary>
public sealed record ActivityContext(string InstanceId, string Name, int TaskId, int Attempt, IServiceProvider Services)
{
    public string IdempotencyKey => $"{InstanceId}:{TaskId}";
}

/// <summary>Thrown at the orchestrator's await when an activity failed after all its retries.</summary>
public sealed class ActivityFailedException(string activityName, string errorType, string errorMessage)
    : Exception($"Activity '{activityName}' failed: {errorType}: {errorMessage}")
{
    public string ActivityName { get; } = activityName;
    public string ErrorType { get; } = errorType;
    public string ErrorMessage { get; } = errorMessage;
}

[JsonConverter(typeof(JsonStringEnumConverter<OrchestrationRuntimeStatus>))]
public enum OrchestrationRuntimeStatus { Pending, Running, Suspended, Completed, Failed, Terminated }

public static class RuntimeStatuses
{
    public static bool IsTerminal(this OrchestrationRuntimeStatus status) =>
        status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;
}

public sealed record FailureDetails(string ErrorType, string ErrorMessage);

/// <summary>Durable-style instance status.</summary>
public sealed record OrchestrationStatus(
    string InstanceId,
    string Name,
    OrchestrationRuntimeStatus RuntimeStatus,
    JsonElement? CustomStatus,
    JsonElement? Input,
    JsonElement? Output,
    FailureDetails? FailureDetails,
    DateTimeOffset CreatedTime,
    DateTimeOffset LastUpdatedTime,
    string? TenantId);

internal static class OrchestrationJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string? Serialize(object? value) => value is null ? null : JsonSerializer.Serialize(value, value.GetType(), Options);

    public static T Deserialize<T>(string? json) =>
        json is null ? default! : JsonSerializer.Deserialize<T>(json, Options)!;

    public static JsonElement? Element(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}
