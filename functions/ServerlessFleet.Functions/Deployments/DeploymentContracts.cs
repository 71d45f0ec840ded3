using ServerlessFleet.Shared.Devices;
using System.Text.Json;
using ServerlessFleet.Shared.Deployments;

namespace ServerlessFleet.Functions.Deployments;

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

public sealed record DeviceDeploymentResponse(string Serial, string Status, int Phase, int Attempts, string? ArtifactId, string? DeviceType, DateTimeOffset CreatedAt,
    DateTimeOffset? OfferedAt, DateTimeOffset? AssignedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, DateTimeOffset? LastReportAt, string? Substate)
{
    public static DeviceDeploymentResponse From(DeviceDeployment r) => new(r.Serial, r.Status, r.Phase, r.Attempts, r.ArtifactId, r.DeviceType, r.CreatedAt,
        r.OfferedAt, r.AssignedAt, r.StartedAt, r.FinishedAt, r.LastReportAt, r.Substate);
}

public sealed record StatisticsRequest(List<string>? Ids);
public sealed record DeploymentStatisticsResponse(string Id, string Status, IReadOnlyDictionary<string, int> Statistics);
