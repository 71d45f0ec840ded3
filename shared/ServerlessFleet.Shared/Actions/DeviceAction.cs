using System.Text.Json.Nodes;

namespace ServerlessFleet.Shared.Actions;

public static class ActionStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string PartiallyFailed = "partially_failed";
    public const string Canceled = "canceled";

    public static readonly IReadOnlyList<string> All = [Pending, Running, Paused, Succeeded, Failed, PartiallyFailed, Canceled];

    public static bool IsFinal(string status) => status is Succeeded or Failed or PartiallyFailed or Canceled;
}

/// <summary>Where one device is with one action.</summary>
public static class DeviceActionStatuses
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string TimedOut = "timed_out";
    public const string Canceled = "canceled";

    public static bool IsFinal(string status) => status is Succeeded or Failed or TimedOut or Canceled;
}

public sealed record Rollout(int BatchSize, int BatchDelaySeconds, double? StopThresholdPercent);

public sealed record DeviceAction(
    string Id,
    string TenantId,
    string Type,
    JsonObject Params,
    int Total,
    int Batches,
    Rollout Rollout,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    string Status,
    string CreatedBy)
{
    public string InstanceId => Orchestration.OrchestrationIds.Action(TenantId, Id);
}

public sealed record DeviceActionRecord(
    string Serial,
    string Status,
    int Batch,
    long? Seq,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset? SucceededAt,
    DateTimeOffset? FailedAt,
    DateTimeOffset? TimedOutAt,
    DateTimeOffset? CanceledAt,
    string? Result,
    Azure.ETag ETag = default);

/// <summary>An action with where its devices are.</summary>
public sealed record ActionSummary(DeviceAction Action, ActionProgress Progress);

public sealed record ActionProgress(int Total, int Delivered, int Succeeded, int Failed, int TimedOut, int Canceled)
{
    public int Finished => Succeeded + Failed + TimedOut + Canceled;
}

/// <summary>One command in a device's inbox.</summary>
public sealed record InboxEntry(long Seq, string ActionId, string Type, JsonObject Params, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string Status);
