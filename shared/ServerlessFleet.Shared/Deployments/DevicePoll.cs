using Microsoft.Extensions.Options;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>What a device says of itself when it polls: the release it runs and its type (each may be unknown).</summary>
public sealed record PollRequest(string? ArtifactName, string? ArtifactVersion, string? DeviceType);

public sealed record NextArtifact(string Name, string Version, Uri Uri, DateTimeOffset ExpiresAt, string Sha256, long Size, IReadOnlyList<string> DeviceTypesCompatible);
public sealed record NextDeploymentResponse(string DeploymentId, NextArtifact Artifact, int PollAfterSeconds);

/// <summary>The poll's answer: the deployment to install, or none, with the seconds until the next poll either way.</summary>
public sealed record PollAnswer(NextDeploymentResponse? Offer, int PollAfterSeconds);

/// <summary>
/// A device's poll for its next deployment, for every transport (the native device API and the Mender facade): is a
/// deployment due, is it already installed, is it compatible, and a signed link when it is to be installed. With nothing
/// due it decides from the device row authentication already read: no storage request and no write.
/// </summary>
public sealed class DevicePoll(DeploymentService deployments, ArtifactBlobs blobs, IOptions<FleetOptions> options)
{
    public async Task<PollAnswer> NextAsync(Device device, PollRequest request, CancellationToken ct)
    {
        var settings = options.Value;
        // Nothing queued: a started deployment is checked against its record, anything else costs nothing.
        if (device.Deployments.Current is null || await deployments.CurrentAsync(device, ct) is not { } slot)
            return new PollAnswer(null, PollIntervals.Next(settings, deploymentPending: device.Deployments.Waiting.Count > 0, Random.Shared, device.InvalidReports));
        var artifact = slot.Artifact;
        var installed = !slot.ForceInstall && request.ArtifactName == artifact.Name && (request.ArtifactVersion ?? artifact.Version) == artifact.Version;
        var compatible = request.DeviceType is null || artifact.DeviceTypes.Contains(request.DeviceType, StringComparer.Ordinal);
        if (!compatible)
        {
            await deployments.NoArtifactAsync(device with { DeviceType = request.DeviceType }, slot.DeploymentId, ct);
            return Settled;
        }
        if (installed)
        {
            await deployments.ReportAsync(device, slot.DeploymentId, DeviceDeploymentStatuses.AlreadyInstalled, null, ct);
            return Settled;
        }
        var link = await blobs.ReadUrlAsync(device.TenantId, artifact.Id, TimeSpan.FromMinutes(settings.DownloadUrlMinutes), ct);
        // Under way: polling sooner lets the device see an abort, and the next deployment, in time.
        var pollAfter = PollIntervals.Next(settings, deploymentPending: true, Random.Shared, device.InvalidReports);
        var offered = new NextArtifact(artifact.Name, artifact.Version, link.Uri, link.ExpiresAt, artifact.Sha256, artifact.Size, artifact.DeviceTypes);
        return new PollAnswer(new NextDeploymentResponse(slot.DeploymentId, offered, pollAfter), pollAfter);
    }

    /// <summary>A deployment was just settled without an install; the next one (if any was waiting) may be offered at once.</summary>
    private static readonly PollAnswer Settled = new(null, 0);
}
