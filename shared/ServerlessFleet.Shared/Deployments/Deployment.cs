using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>Where a deployment stands (Mender's deployment statuses plus <c>paused</c>).</summary>
public static class DeploymentStatuses
{
    public const string Scheduled = "scheduled";
    public const string Pending = "pending";
    public const string InProgress = "inprogress";
    public const string Paused = "paused";
    public const string Finished = "finished";
    public const string Aborted = "aborted";

    public static readonly IReadOnlyList<string> All = [Scheduled, Pending, InProgress, Paused, Finished, Aborted];

    public static bool IsActive(string status) => status is not (Finished or Aborted);
}

/// <summary>A phase: its device count (fixed when the deployment is created), optional start time and soak time.</summary>
public sealed record DeploymentPhase(int Index, int Size, DateTimeOffset? StartAt, double SoakMinutes);

public sealed record FailureThreshold(double Percent, int MinDevices, string Action)
{
    public const string Pause = "pause";
    public const string Abort = "abort";
}

public sealed record DeploymentPolicy(int Retries, double? DeviceTimeoutMinutes, int? MaxDevices, FailureThreshold? FailureThreshold, double? SuccessThresholdPercent,
    HealthGate? HealthGate = null, RollbackTarget? Rollback = null);

/// <summary>Exactly one of: listed devices, a group, a filter in the device-list query language (dynamic), or all.</summary>
/// <param name="ListedDevices">How many devices a list named when the list itself is too long to keep with the deployment (see <see cref="Kept"/>).</param>
public sealed record DeploymentTarget(IReadOnlyList<string>? Devices, string? Group, IReadOnlyDictionary<string, string>? Filter, bool All, int? ListedDevices = null)
{
    /// <summary>Characters of serials (quoted, comma-separated) a deployment keeps; a table property holds 32K characters.</summary>
    public const int MaxKeptListCharacters = 30_000;

    /// <summary>A filter target stays open: devices that match it later join the deployment (up to maxDevices).</summary>
    public bool Dynamic => Filter is not null;

    /// <summary>
    /// The target as the deployment keeps it: a long device list (up to 10,000 serials) lives on as the deployment's
    /// device records and is summarised here by its length, so the deployment fits in its row.
    /// </summary>
    public DeploymentTarget Kept() =>
        Devices is { } listed && listed.Sum(s => s.Length + 3) > MaxKeptListCharacters ? this with { Devices = null, ListedDevices = listed.Count } : this;
}

public sealed record Deployment(
    string Id,
    string TenantId,
    string Name,
    IReadOnlyList<DeploymentArtifact> Artifacts,
    DeploymentTarget Target,
    IReadOnlyList<DeploymentPhase> Phases,
    DeploymentPolicy Policy,
    bool ForceInstall,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    string CreatedBy,
    string? StatusReason = null,
    string? RollbackOf = null,
    string? RolledBackBy = null)
{
    public DeploymentArtifact? ArtifactFor(string? deviceType) => DeploymentArtifact.For(Artifacts, deviceType);

    public string InstanceId => Orchestration.OrchestrationIds.Deployment(TenantId, Id);
}

/// <summary>One device in one deployment.</summary>
public sealed record DeviceDeployment(
    string Serial,
    string Status,
    int Phase,
    int Batch,
    string? ArtifactId,
    string? DeviceType,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? OfferedAt,
    DateTimeOffset? AssignedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? LastReportAt,
    string? Substate,
    Azure.ETag ETag = default);
