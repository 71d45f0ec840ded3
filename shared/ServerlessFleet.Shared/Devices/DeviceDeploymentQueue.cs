namespace ServerlessFleet.Shared.Devices;

/// <summary>The artifact a device of a compatible type receives (a release may hold one per device type).</summary>
public sealed record DeploymentArtifact(string Id, string Name, string Version, IReadOnlyList<string> DeviceTypes, string Sha256, long Size)
{
    public bool Fits(string deviceType) => DeviceTypes.Contains(deviceType, StringComparer.Ordinal);

    /// <summary>The first of <paramref name="artifacts"/> built for <paramref name="deviceType"/>; none for a device of no known type.</summary>
    public static DeploymentArtifact? For(IEnumerable<DeploymentArtifact>? artifacts, string? deviceType) =>
        deviceType is null ? null : artifacts?.FirstOrDefault(a => a.Fits(deviceType));
}

/// <summary>
/// What a device is to install, kept on the device row itself so that the device's poll is the one point read its
/// authentication already does. <see cref="AssignedAt"/> is when it became the device's current deployment;
/// <see cref="Started"/> once the device reported progress on it. A device whose type was not known when the
/// deployment reached it has no <see cref="Artifact"/> yet but the release's <see cref="Candidates"/>: its poll, which
/// names its type, chooses (as Mender's server does).
/// </summary>
public sealed record DeploymentSlot(string DeploymentId, DeploymentArtifact? Artifact, bool ForceInstall, int Retries, DateTimeOffset? AssignedAt,
    bool Started = false, IReadOnlyList<DeploymentArtifact>? Candidates = null)
{
    /// <summary>The artifact for a device of <paramref name="deviceType"/>: the chosen one, or the first candidate built for that type.</summary>
    public DeploymentArtifact? ArtifactFor(string? deviceType) => Artifact ?? DeploymentArtifact.For(Candidates, deviceType);
}

/// <summary>
/// A device's deployments in creation order: the current one (what its poll returns) and the ones waiting behind it,
/// so a device is never in two deployments at once and takes them in the order they were created.
/// </summary>
public sealed record DeviceDeploymentQueue(DeploymentSlot? Current, IReadOnlyList<DeploymentSlot> Waiting)
{
    public static DeviceDeploymentQueue Empty { get; } = new(null, []);

    public bool IsEmpty => Current is null && Waiting.Count == 0;

    public bool Holds(string deploymentId) => Current?.DeploymentId == deploymentId || Waiting.Any(s => s.DeploymentId == deploymentId);

    /// <summary>
    /// Adds the deployment: current when nothing is, or when it is older than a current one the device has not
    /// started yet (deployment ids sort by creation time); otherwise it waits in creation order.
    /// </summary>
    public DeviceDeploymentQueue Add(DeploymentSlot slot, DateTimeOffset now)
    {
        if (Holds(slot.DeploymentId)) return this;
        if (Current is null) return this with { Current = slot with { AssignedAt = now } };
        if (!Current.Started && string.CompareOrdinal(slot.DeploymentId, Current.DeploymentId) < 0)
            return new DeviceDeploymentQueue(slot with { AssignedAt = now }, Wait(Current));
        return this with { Waiting = Wait(slot) };
    }

    public DeviceDeploymentQueue MarkStarted(string deploymentId) =>
        Current?.DeploymentId == deploymentId && !Current.Started ? this with { Current = Current with { Started = true } } : this;

    private List<DeploymentSlot> Wait(DeploymentSlot slot) =>
        Waiting.Append(slot with { AssignedAt = null }).OrderBy(s => s.DeploymentId, StringComparer.Ordinal).ToList();

    /// <summary>Takes the deployment out; when it was the current one, the oldest waiting one becomes current.</summary>
    public DeviceDeploymentQueue Remove(string deploymentId, DateTimeOffset now)
    {
        if (Current?.DeploymentId != deploymentId) return this with { Waiting = Waiting.Where(s => s.DeploymentId != deploymentId).ToList() };
        return Waiting.Count == 0 ? Empty : new DeviceDeploymentQueue(Waiting[0] with { AssignedAt = now }, Waiting.Skip(1).ToList());
    }
}
