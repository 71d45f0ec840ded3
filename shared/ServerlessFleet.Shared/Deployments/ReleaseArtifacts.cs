using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>What a deployment installs: one artifact by id, or every artifact of a release (one per device type); 422 when there is none.</summary>
public static class ReleaseArtifacts
{
    /// <param name="what">How the message names the release ("Release", "Rollback release").</param>
    public static async Task<IReadOnlyList<DeploymentArtifact>> ResolveAsync(ArtifactStore artifacts, string tenantId, string? releaseName, string? releaseVersion,
        string? artifactId, string what, CancellationToken ct)
    {
        IReadOnlyList<Artifact> found;
        if (artifactId is not null)
            found = [await artifacts.FindAsync(tenantId, artifactId, ct) ?? throw new FleetException(ErrorCategory.Unprocessable, $"{what} artifact '{artifactId}' does not exist.")];
        else
            found = (await artifacts.ReleasesAsync(tenantId, releaseName, ct)).FirstOrDefault(r => r.Version == releaseVersion)?.Artifacts
                ?? throw new FleetException(ErrorCategory.Unprocessable, $"{what} {releaseName} {releaseVersion} has no artifact.");
        return found.Select(a => new DeploymentArtifact(a.Id, a.Metadata.Name, a.Metadata.Version, a.Metadata.DeviceTypesCompatible, a.Sha256, a.Size)).ToList();
    }
}
