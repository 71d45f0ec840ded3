using Microsoft.Extensions.Options;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>What a device says of itself when it polls: the release it runs and its type (each may be unknown).</summary>
/// <param name="Provides">The device speaks for its own type and release on every poll (a Mender client's
/// <c>device_provides</c>): what differs from its row is recorded there, as its inventory would.</param>
public sealed record PollRequest(string? ArtifactName, string? ArtifactVersion, string? DeviceType, bool Provides = false);

public sealed record NextArtifact(string Name, string Version, Uri Uri, DateTimeOffset ExpiresAt, string Sha256, long Size, IReadOnlyList<string> DeviceTypesCompatible);
public sealed record NextDeploymentResponse(string DeploymentId, NextArtifact Artifact, int PollAfterSeconds);

/// <summary>The poll's answer: the deployment to install, or none, with the seconds until the next poll either way.</summary>
public sealed record PollAnswer(NextDeploymentResponse? Offer, int PollAfterSeconds);

/// <summary>
/// A device's poll for its next deployment, for every transport (the native device API and the Mender facade): is a
/// deployment due, is it already installed, is it compatible, and a signed link when it is to be installed. With nothing
/// due it decides from the device row authentication already read: no storage request and no write.
/// </summary>
public sealed class DevicePoll(DeploymentService deployments, DeviceStore devices, ArtifactBlobs blobs, IOptions<FleetOptions> options)
{
    public async Task<PollAnswer> NextAsync(Device device, PollRequest request, CancellationToken ct)
    {
        var settings = options.Value;
        if (request.Provides && Provided(device, request) is { Count: > 0 } provided)
            // The row authentication just read is the first try: a poll that records what it provides costs the write alone.
            device = (await devices.UpdateAsync(device.TenantId, device.Serial, d => AttributeUpdates.Upsert(d, provided), null, ct, known: device)).After;
        // Nothing queued: a started deployment is checked against its record, anything else costs nothing.
        if (device.Deployments.Current is null || await deployments.CurrentAsync(device, ct) is not { } slot)
            return new PollAnswer(null, PollIntervals.Next(settings, deploymentPending: device.Deployments.Waiting.Count > 0, Random.Shared, device.InvalidReports));
        var deviceType = request.DeviceType ?? device.DeviceType;
        var artifact = slot.ArtifactFor(deviceType);
        if (artifact is null || (request.DeviceType is { } named && !artifact.Fits(named)))
        {
            await deployments.NoArtifactAsync(device with { DeviceType = deviceType }, slot.DeploymentId, ct);
            return Settled;
        }
        if (slot.Artifact is null)
        {
            slot = await deployments.ChooseArtifactAsync(device, slot.DeploymentId, deviceType!, artifact, ct) ?? slot with { Artifact = artifact };
            device = device with { Deployments = device.Deployments with { Current = slot } };
        }
        var installed = !slot.ForceInstall && request.ArtifactName == artifact.Name && (request.ArtifactVersion ?? artifact.Version) == artifact.Version;
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

    /// <summary>The type and release the poll names that the device row does not record yet, as inventory attributes.</summary>
    private static List<DeviceAttribute> Provided(Device device, PollRequest request)
    {
        var inventory = device.Scope(AttributeScope.Inventory);
        var provided = new List<DeviceAttribute>();
        if (request.DeviceType is { Length: > 0 and <= 64 } type && (device.DeviceType != type || inventory.GetValueOrDefault(AttributeUpdates.DeviceTypeAttribute)?.ToString() != type))
            provided.Add(new DeviceAttribute(AttributeUpdates.DeviceTypeAttribute, type, AttributeScope.Inventory));
        if (request.ArtifactName is { Length: > 0 and <= 256 } release && inventory.GetValueOrDefault("artifact_name")?.ToString() != release)
            provided.Add(new DeviceAttribute("artifact_name", release, AttributeScope.Inventory));
        return provided;
    }

    /// <summary>A deployment was just settled without an install; the next one (if any was waiting) may be offered at once.</summary>
    private static readonly PollAnswer Settled = new(null, 0);
}
