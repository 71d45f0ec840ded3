namespace ServerlessFleet.Shared.Deployments;

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
