using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Deployments;

namespace ServerlessFleet.Shared.Groups;

/// <summary>
/// A rollout that finishes on a group, with at least one device running its release, makes that release the
/// group's desired release for the artifact's kind: <c>devicesUpToDateCount</c> then counts the group's devices
/// that run it, and devices moved into the group later show as needing it.
/// </summary>
public sealed class GroupReleases(DeploymentStore deployments, ArtifactStore artifacts, GroupStore groups)
{
    public async Task RecordFinishedRolloutAsync(string tenantId, string deploymentId, CancellationToken ct)
    {
        if (await deployments.FindAsync(tenantId, deploymentId, ct) is not { Status: DeploymentStatuses.Finished, Target.Group: { } group } deployment) return;
        if ((await deployments.StatisticsAsync(tenantId, deploymentId, deployment.Phases.Count, ct)).Succeeded == 0) return;
        if (await groups.FindAsync(tenantId, group, ct) is not { } current) return;
        var desired = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var artifact in deployment.Artifacts)
            if (await artifacts.FindAsync(tenantId, artifact.Id, ct) is { } stored && GroupNames.ArtifactKinds.Contains(stored.Metadata.Kind))
                desired[stored.Metadata.Kind] = artifact.Name;
        if (desired.All(d => current.DesiredReleases.GetValueOrDefault(d.Key) == d.Value)) return;
        await groups.UpdateAsync(tenantId, group, g => g with
        {
            DesiredReleases = g.DesiredReleases.Where(r => !desired.ContainsKey(r.Key)).Concat(desired).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal),
        }, Azure.ETag.All, ct);
    }
}
