using Azure;
using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Groups;

/// <summary>An operator's changes to groups, for every transport: create, edit, delete and move devices in, each audited.</summary>
public sealed class GroupAdministration(GroupStore groups, GroupMover mover, DeviceStore devices, AuditLog audit)
{
    public async Task<Group> CreateAsync(Actor actor, CreateGroupRequest request, CancellationToken ct)
    {
        GroupRules.CheckCreate(request);
        var group = await groups.CreateAsync(actor.TenantId, request.Name!, request.Description, request.DeviceType, request.DesiredReleases ?? [], ct);
        await audit.RecordAsync(actor, "group.create", "group", group.Name, null, GroupResponse.From(new GroupWithCounts(group, 0, 0)), ct);
        return group;
    }

    /// <summary>Locking a group to a device type is refused while it holds devices of another type.</summary>
    public async Task<GroupWithCounts> UpdateAsync(Actor actor, string name, GroupPatch patch, ETag ifMatch, CancellationToken ct)
    {
        if (patch.DeviceType is { HasValue: true, Value: { } locked })
        {
            var mismatched = (await devices.ScanGroupsAsync(actor.TenantId, ct)).Count(d => d.Group == name && d.DeviceType != locked);
            if (mismatched > 0) throw FleetException.Conflict($"{mismatched} devices in '{name}' are not '{locked}' devices; move them before locking the group.");
        }
        var (before, after) = await groups.UpdateAsync(actor.TenantId, name, patch.ApplyTo, ifMatch, ct);
        await audit.RecordAsync(actor, "group.update", "group", name, before, after, ct);
        return await groups.GetWithCountsAsync(actor.TenantId, name, ct) with { Group = after };
    }

    public async Task DeleteAsync(Actor actor, string name, ETag ifMatch, CancellationToken ct)
    {
        var deleted = await groups.DeleteAsync(actor.TenantId, name, ifMatch, ct);
        await audit.RecordAsync(actor, "group.delete", "group", name, deleted, null, ct);
    }

    /// <summary>With <paramref name="validateOnly"/>, the effects are reported and nothing changes.</summary>
    public async Task<MoveResult> MoveAsync(Actor actor, string name, MoveDevicesRequest request, bool validateOnly, CancellationToken ct)
    {
        if (request.Devices is null || request.Devices.Count is 0 or > GroupMover.MaxDevicesPerMove)
            throw FleetException.Validation("devices", $"devices holds 1 to {GroupMover.MaxDevicesPerMove} serials.");
        var (result, changes) = await mover.MoveAsync(actor.TenantId, name, request.Devices, validateOnly, ct);
        foreach (var (before, after) in changes)
            await audit.RecordAsync(actor, "device.move", "device", after.Serial, new { group = before.Group }, new { group = after.Group }, ct);
        return result;
    }
}
