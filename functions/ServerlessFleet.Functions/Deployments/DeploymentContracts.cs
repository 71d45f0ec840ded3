using System.Text.Json;
using ServerlessFleet.Shared.Deployments;

namespace ServerlessFleet.Functions.Deployments;

public sealed record ReleaseReference(string? Name, string? Version);
public sealed record DeploymentTargetRequest(List<string>? Devices, string? Group, Dictionary<string, string>? Filter, bool? All);
public sealed record DeploymentPhaseRequest(double? BatchPercent, int? BatchSize, DateTimeOffset? StartAt, double? SoakMinutes);
public sealed record FailureThresholdRequest(double? Percent, int? MinDevices, string? Action);
public sealed record DeploymentPolicyRequest(int? Retries, double? DeviceTimeoutMinutes, int? MaxDevices, FailureThresholdRequest? FailureThreshold,
    double? SuccessThresholdPercent, HealthGateRequest? HealthGate = null, RollbackRequest? Rollback = null);
public sealed record HealthGateRequest(string? Metric, string? Op, double? Threshold, double? WindowMinutes, double? MaxViolatingPercent, int? MinDevices,
    double? RegressionPercent, string? Action);
public sealed record RollbackRequest(ReleaseReference? Release, string? ArtifactId);
public sealed record CreateDeploymentRequest(string? Name, ReleaseReference? Release, string? ArtifactId, DeploymentTargetRequest? Target,
    List<DeploymentPhaseRequest>? Phases, DeploymentPolicyRequest? Policy, bool? ForceInstall, bool? DryRun);

public sealed record PhaseResponse(int Index, int Size, DateTimeOffset? StartAt, double SoakMinutes, IReadOnlyDictionary<string, int> Statistics);

public sealed record DeploymentResponse(string Id, string Name, string Status, string? StatusReason, IReadOnlyList<DeploymentArtifact> Artifacts,
    DeploymentTarget Target, IReadOnlyList<PhaseResponse> Phases, DeploymentPolicy Policy, bool ForceInstall, int DeviceCount,
    IReadOnlyDictionary<string, int> Statistics, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt, string OrchestrationId, JsonElement? Progress,
    string? RollbackOf, string? RolledBackBy)
{
    public static DeploymentResponse From(Deployment d, DeploymentStatistics stats, JsonElement? progress = null) => new(d.Id, d.Name, d.Status, d.StatusReason,
        d.Artifacts, d.Target, d.Phases.Select(p => new PhaseResponse(p.Index, stats.PhaseTotal(p.Index), p.StartAt, p.SoakMinutes,
            p.Index < stats.Phases.Count ? stats.Phases[p.Index] : new Dictionary<string, int>())).ToList(),
        d.Policy, d.ForceInstall, stats.Total, stats.Overall, d.CreatedAt, d.FinishedAt, d.InstanceId, progress, d.RollbackOf, d.RolledBackBy);
}

public sealed record PlannedPhase(int Index, int Size, DateTimeOffset EarliestStart, double SoakMinutes, IReadOnlyList<string> Devices);

/// <summary>A dry run: what the deployment would do, device by device, with nothing stored.</summary>
public sealed record DeploymentPlanResponse(string Name, IReadOnlyList<DeploymentArtifact> Artifacts, int DeviceCount, IReadOnlyList<PlannedPhase> Phases,
    IReadOnlyList<string> NoArtifact, DeploymentPolicy Policy, bool Dynamic, bool ForceInstall);

public sealed record DeviceDeploymentResponse(string Serial, string Status, int Phase, int Attempts, string? ArtifactId, string? DeviceType, DateTimeOffset CreatedAt,
    DateTimeOffset? OfferedAt, DateTimeOffset? AssignedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, DateTimeOffset? LastReportAt, string? Substate)
{
    public static DeviceDeploymentResponse From(DeviceDeployment r) => new(r.Serial, r.Status, r.Phase, r.Attempts, r.ArtifactId, r.DeviceType, r.CreatedAt,
        r.OfferedAt, r.AssignedAt, r.StartedAt, r.FinishedAt, r.LastReportAt, r.Substate);
}

public sealed record StatisticsRequest(List<string>? Ids);
public sealed record DeploymentStatisticsResponse(string Id, string Status, IReadOnlyDictionary<string, int> Statistics);
