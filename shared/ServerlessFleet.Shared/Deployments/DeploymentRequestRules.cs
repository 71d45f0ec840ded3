using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Telemetry;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>The rules a deployment request's target and policy follow; every broken rule is collected, with the field it concerns.</summary>
public static class DeploymentRequestRules
{
    public static DeploymentTarget Target(DeploymentTargetRequest? target, ValidationErrors errors)
    {
        var kinds = target is null ? 0 : new[] { target.Devices is not null, target.Group is not null, target.Filter is not null, target.All == true }.Count(k => k);
        errors.Require(kinds == 1, "target", "target is exactly one of devices, group, filter or all: true.");
        errors.Require(target?.Devices is null || target.Devices.Count is > 0 and <= DeploymentCreation.MaxExplicitDevices, "target.devices", $"devices lists 1 to {DeploymentCreation.MaxExplicitDevices} serials.");
        errors.Require(target?.Filter is null || target.Filter.Count > 0, "target.filter", "filter needs at least one condition (device list query parameters).");
        return new DeploymentTarget(target?.Devices, target?.Group, target?.Filter, target?.All == true);
    }

    public static DeploymentPolicy Policy(DeploymentPolicyRequest? policy, DeploymentTarget target, ValidationErrors errors)
    {
        errors.Require(policy?.Retries is null or (>= 0 and <= 10), "policy.retries", "retries is 0 to 10.");
        errors.Require(policy?.DeviceTimeoutMinutes is null or (>= 0.05 and <= 43_200), "policy.deviceTimeoutMinutes", "deviceTimeoutMinutes is 0.05 to 43200.");
        errors.Require(policy?.MaxDevices is null or (>= 1 and <= DeviceTargets.MaxTargetDevices), "policy.maxDevices", $"maxDevices is 1 to {DeviceTargets.MaxTargetDevices}.");
        errors.Require(policy?.MaxDevices is null || target.Dynamic, "policy.maxDevices", "maxDevices applies to a filter (dynamic) target.");
        errors.Require(policy?.SuccessThresholdPercent is null or (> 0 and <= 100), "policy.successThresholdPercent", "successThresholdPercent is more than 0 and at most 100.");
        FailureThreshold? threshold = null;
        if (policy?.FailureThreshold is { } f)
        {
            errors.Require(f.Percent is > 0 and <= 100, "policy.failureThreshold.percent", "percent is more than 0 and at most 100.");
            errors.Require(f.MinDevices is null or (>= 1 and <= 1_000_000), "policy.failureThreshold.minDevices", "minDevices is at least 1.");
            errors.Require(f.Action is null or FailureThreshold.Pause or FailureThreshold.Abort, "policy.failureThreshold.action", "action is pause or abort.");
            threshold = new FailureThreshold(f.Percent ?? 100, f.MinDevices ?? 1, f.Action ?? FailureThreshold.Pause);
        }
        return new DeploymentPolicy(policy?.Retries ?? 0, policy?.DeviceTimeoutMinutes, policy?.MaxDevices, threshold, policy?.SuccessThresholdPercent,
            HealthGate(policy?.HealthGate, target, errors), Rollback(policy?.Rollback, errors));
    }

    private static HealthGate? HealthGate(HealthGateRequest? gate, DeploymentTarget target, ValidationErrors errors)
    {
        if (gate is null) return null;
        const string at = "policy.healthGate";
        errors.Require(gate.Metric is { } m && TelemetryRules.IsSingleValued(m), $"{at}.metric",
            "metric is a telemetry type with one value: battery, temperature, uptime, wifi-strength or metric.<name>.");
        errors.Require(gate.Op is { } op && Deployments.HealthGate.Ops.Contains(op), $"{at}.op", "op is >, <, >= or <=.");
        errors.Require(gate.Threshold is { } t && double.IsFinite(t), $"{at}.threshold", "threshold is a number.");
        errors.Require(gate.WindowMinutes is >= 0.05 and <= 1440, $"{at}.windowMinutes", "windowMinutes is 0.05 to 1440.");
        errors.Require(gate.MaxViolatingPercent is null or (>= 0 and <= 100), $"{at}.maxViolatingPercent", "maxViolatingPercent is 0 to 100.");
        errors.Require(gate.MinDevices is null or (>= 1 and <= 1_000_000), $"{at}.minDevices", "minDevices is at least 1.");
        errors.Require(gate.RegressionPercent is null or (>= 0 and <= 10_000), $"{at}.regressionPercent", "regressionPercent is 0 or more.");
        errors.Require(gate.Action is null or FailureThreshold.Pause or FailureThreshold.Abort, $"{at}.action", "action is pause or abort.");
        errors.Require(!target.Dynamic, at, "A health gate needs a fixed target (devices, group or all).");
        return errors.HasErrors ? null : new HealthGate(gate.Metric!, gate.Op!, gate.Threshold!.Value, gate.WindowMinutes!.Value, gate.MaxViolatingPercent ?? 0,
            gate.MinDevices ?? 1, gate.RegressionPercent, gate.Action ?? FailureThreshold.Pause);
    }

    private static RollbackTarget? Rollback(RollbackRequest? rollback, ValidationErrors errors)
    {
        if (rollback is null) return null;
        errors.Require((rollback.Release is not null) ^ (rollback.ArtifactId is not null), "policy.rollback", "rollback is release {name, version} or artifactId.");
        errors.Require(rollback.Release is null || (rollback.Release.Name is { Length: > 0 } && rollback.Release.Version is { Length: > 0 }), "policy.rollback.release",
            "release needs name and version.");
        return new RollbackTarget(rollback.Release?.Name, rollback.Release?.Version, rollback.ArtifactId);
    }
}
