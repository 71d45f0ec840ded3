using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>Times out silent devices and lets devices that newly match a dynamic target join.</summary>
public sealed class DeploymentSweeper(DeploymentStore store, DeploymentService deployments, DeviceTargets targets)
{
    public async Task<int> SweepAsync(string tenantId, string deploymentId, bool lastPhaseReleased, CancellationToken ct)
    {
        var deployment = await store.GetAsync(tenantId, deploymentId, ct);
        var changed = await deployments.TimeOutAsync(deployment, ct);
        if (deployment.Target.Filter is { } filter)
        {
            var matching = await targets.FilterAsync(deployment.TenantId, filter, ct);
            changed += await deployments.JoinAsync(deployment, matching.Select(m => (m.Serial, m.DeviceType)).ToList(), lastPhaseReleased, ct);
        }
        return changed;
    }
}

/// <summary>An artifact cannot be deleted while a deployment that is not finished or aborted uses it.</summary>
public sealed class ArtifactsInActiveDeployments(DeploymentStore store) : IArtifactUsage
{
    public async Task<bool> IsInUseAsync(string tenantId, string artifactId, CancellationToken ct) =>
        (await store.ActiveAsync(tenantId, ct)).Any(d => d.Artifacts.Any(a => a.Id == artifactId));
}

/// <summary>A decommissioned device leaves its deployments (its records end as decommissioned).</summary>
public sealed class LeaveDeploymentsOnDecommission(DeploymentService deployments) : IDeviceDecommissionHook
{
    public Task OnDecommissionedAsync(Device device, CancellationToken ct) => deployments.DecommissionAsync(device, ct);
}
