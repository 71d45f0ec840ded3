using System.Text.RegularExpressions;

namespace ServerlessFleet.Shared.Groups;

/// <summary>
/// A cohort of devices. <see cref="DeviceType"/>, when set, locks the group to devices of that type.
/// <see cref="DesiredReleases"/> maps an artifact kind (os, firmware, app, config) to the release its devices
/// should run; a device is up to date when its reported release is one of them.
/// </summary>
public sealed record Group(
    string Name,
    string? Description,
    string? DeviceType,
    IReadOnlyDictionary<string, string> DesiredReleases,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    Azure.ETag ETag = default);

public sealed record GroupWithCounts(Group Group, int DeviceCount, int DevicesUpToDateCount);

public static partial class GroupNames
{
    public const string Unassigned = Devices.Device.UnassignedGroup;
    public static readonly IReadOnlySet<string> ArtifactKinds = new HashSet<string> { "os", "firmware", "app", "config" };

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string name) => Pattern().IsMatch(name);
}
