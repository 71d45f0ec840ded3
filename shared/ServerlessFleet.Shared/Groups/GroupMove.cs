using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Groups;

public sealed record MoveRejection(string Serial, string Reason);

/// <summary>
/// The outcome of moving devices into a group. <see cref="WillUpdate"/>: moved devices not on the group's
/// desired release (they will be offered an update); <see cref="WillWipe"/>: moved devices whose desired OS
/// changes (an OS change reflashes the device); <see cref="EmptyGroup"/>: groups the move leaves empty.
/// </summary>
public sealed record MoveResult(
    IReadOnlyList<string> WillUpdate,
    IReadOnlyList<string> WillWipe,
    IReadOnlyList<string> EmptyGroup,
    IReadOnlyList<string> Moved,
    IReadOnlyList<MoveRejection> Rejected);

public sealed class GroupMover(DeviceStore devices, GroupStore groups)
{
    public const int MaxDevicesPerMove = 500;

    public async Task<(MoveResult Result, IReadOnlyList<(Device Before, Device After)> Changes)> MoveAsync(
        string tenantId, string groupName, IReadOnlyList<string> serials, bool validateOnly, CancellationToken ct)
    {
        if (serials.Count is 0 or > MaxDevicesPerMove)
            throw FleetException.Validation("devices", $"Move 1 to {MaxDevicesPerMove} devices at a time.");
        var target = await groups.GetAsync(tenantId, groupName, ct);
        var distinct = serials.Distinct(StringComparer.Ordinal).ToList();
        var found = await Task.WhenAll(distinct.Select(s => devices.FindAsync(tenantId, s, ct)));

        var rejected = new List<MoveRejection>();
        var moving = new List<Device>();
        for (var i = 0; i < distinct.Count; i++)
        {
            var device = found[i];
            if (device is null) rejected.Add(new MoveRejection(distinct[i], "not_found"));
            else if (target.DeviceType is not null && device.DeviceType != target.DeviceType)
                rejected.Add(new MoveRejection(device.Serial, $"device_type_mismatch: the group takes '{target.DeviceType}' devices, this one is '{device.DeviceType ?? "untyped"}'"));
            else moving.Add(device);
        }

        var sources = new Dictionary<string, Group?>();
        foreach (var name in moving.Select(d => d.Group).Distinct()) sources[name] = await groups.FindAsync(tenantId, name, ct);
        var desired = target.DesiredReleases.Values.ToHashSet(StringComparer.Ordinal);
        var willUpdate = moving.Where(d => desired.Count > 0 && (d.Release is null || !desired.Contains(d.Release))).Select(d => d.Serial).ToList();
        var targetOs = target.DesiredReleases.GetValueOrDefault("os");
        var willWipe = moving.Where(d => d.Group != target.Name && targetOs is not null
            && sources[d.Group]?.DesiredReleases.GetValueOrDefault("os") is { } sourceOs && sourceOs != targetOs).Select(d => d.Serial).ToList();

        var leaving = moving.Where(d => d.Group != target.Name).GroupBy(d => d.Group).ToDictionary(g => g.Key, g => g.Count());
        var counts = (await devices.ScanGroupsAsync(tenantId, ct)).GroupBy(d => d.Group).ToDictionary(g => g.Key, g => g.Count());
        var emptied = leaving.Where(l => l.Key != GroupNames.Unassigned && counts.GetValueOrDefault(l.Key) <= l.Value).Select(l => l.Key).Order().ToList();

        var changes = new List<(Device, Device)>();
        if (!validateOnly)
        {
            foreach (var device in moving.Where(d => d.Group != target.Name))
                changes.Add(await devices.UpdateAsync(tenantId, device.Serial, d => d with { Group = target.Name }, null, ct));
        }
        return (new MoveResult(willUpdate, willWipe, emptied, moving.Select(d => d.Serial).ToList(), rejected), changes);
    }
}
