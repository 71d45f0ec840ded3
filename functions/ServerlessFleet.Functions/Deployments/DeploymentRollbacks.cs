using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Devices;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Deployments;

/// <summary>
/// The automatic rollback of a deployment a gate or threshold aborted: a linked deployment of the policy's rollback
/// release to exactly the devices that reported <c>success</c> for the aborted one. Its id derives from the aborted
/// deployment's, so creating it again (an activity retried) finds the same deployment and orchestration.
/// </summary>
public sealed class DeploymentRollbacks(DeploymentStore store, ArtifactStore artifacts, DeviceTargets targets, IOptions<FleetOptions> options, TimeProvider clock)
{
    public const string CreatedBy = "rollback";

    public static string RollbackId(string deploymentId) => deploymentId + "r";

    public async Task<string?> RollBackAsync(string tenantId, string deploymentId, Orchestrations orchestrations, CancellationToken ct)
    {
        var original = await store.GetAsync(tenantId, deploymentId, ct);
        if (original.Policy.Rollback is not { } target) return null;
        var id = RollbackId(original.Id);
        var installed = (await store.RecordsAsync(tenantId, deploymentId, $"Status eq '{DeviceDeploymentStatuses.Success}'", ct)).Select(r => r.Serial).ToList();
        if (installed.Count == 0) return null;

        if (await store.FindAsync(tenantId, id, ct) is null)
        {
            var devices = await targets.ListedAsync(tenantId, installed, ct);
            var errors = new ValidationErrors();
            var phases = DeploymentPlanner.Phases(null, devices.Count, errors);
            errors.ThrowIfAny();
            var now = clock.GetUtcNow();
            var deployment = new Deployment(id, tenantId, $"rollback of {original.Name}"[..Math.Min(128, original.Name.Length + 12)], await ArtifactsAsync(tenantId, target, ct),
                new DeploymentTarget(installed, null, null, false).Kept(), phases,
                new DeploymentPolicy(original.Policy.Retries, original.Policy.DeviceTimeoutMinutes, null, null, null),
                ForceInstall: true, DeploymentStatuses.Pending, now, null, CreatedBy, RollbackOf: original.Id);
            var records = DeploymentPlanner.Records(devices, phases, deployment.ArtifactFor, now);
            await orchestrations.StartOnceAsync(DeploymentOrchestration.Name, deployment.InstanceId,
                new DeploymentState(tenantId, id, options.Value.DeploymentCheckSeconds), ct);
            await store.CreateAsync(deployment, records, ct);
        }
        await store.SetRolledBackByAsync(tenantId, original.Id, id, ct);
        return id;
    }

    /// <summary>The rollback release's artifacts (checked when the deployment was created; deleted since, the rollback cannot be made).</summary>
    public Task<IReadOnlyList<DeploymentArtifact>> ArtifactsAsync(string tenantId, RollbackTarget target, CancellationToken ct) =>
        ReleaseArtifacts.ResolveAsync(artifacts, tenantId, target.ReleaseName, target.ReleaseVersion, target.ArtifactId, "Rollback release", ct);
}
