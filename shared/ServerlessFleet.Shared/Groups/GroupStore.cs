using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Groups;

/// <summary>
/// <c>groups</c> table: PartitionKey = tenant, RowKey = group name. <c>unassigned</c> always exists (it has no
/// row until someone edits it). Device counts are not stored: they are computed from one projected scan of the
/// tenant's devices, so they can never drift from the devices themselves.
/// </summary>
public sealed class GroupStore(FleetStorage storage, DeviceStore devices, TimeProvider clock)
{
    public const string TableName = "groups";
    private TableClient Table => storage.Table(TableName);

    public async Task<Group> CreateAsync(string tenantId, string name, string? description, string? deviceType,
        IReadOnlyDictionary<string, string> desired, CancellationToken ct)
    {
        if (name == GroupNames.Unassigned) throw FleetException.Conflict("The 'unassigned' group always exists.");
        var now = clock.GetUtcNow();
        var group = new Group(name, description, deviceType, desired, now, now);
        try
        {
            var etag = await Table.AddOnceAsync(ToEntity(tenantId, group), ct);
            return group with { ETag = etag };
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            throw FleetException.Conflict($"Group '{name}' already exists.");
        }
    }

    public async Task<Group?> FindAsync(string tenantId, string name, CancellationToken ct)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, name, cancellationToken: ct);
        if (row.HasValue && row.Value is not null) return FromEntity(row.Value);
        return name == GroupNames.Unassigned ? Unassigned() : null;
    }

    public async Task<Group> GetAsync(string tenantId, string name, CancellationToken ct) =>
        await FindAsync(tenantId, name, ct) ?? throw FleetException.NotFound("Group", name);

    public async Task<IReadOnlyList<GroupWithCounts>> ListAsync(string tenantId, CancellationToken ct)
    {
        var groups = new List<Group>();
        await foreach (var row in Table.QueryAsync<TableEntity>(TableFilters.PartitionEquals(tenantId), cancellationToken: ct))
            groups.Add(FromEntity(row));
        if (groups.All(g => g.Name != GroupNames.Unassigned)) groups.Add(Unassigned());
        var scan = await devices.ScanGroupsAsync(tenantId, ct);
        return groups.OrderBy(g => g.Name, StringComparer.Ordinal).Select(g => WithCounts(g, scan)).ToList();
    }

    public async Task<GroupWithCounts> GetWithCountsAsync(string tenantId, string name, CancellationToken ct)
    {
        var group = await GetAsync(tenantId, name, ct);
        return WithCounts(group, await devices.ScanGroupsAsync(tenantId, ct));
    }

    public async Task<(Group Before, Group After)> UpdateAsync(string tenantId, string name, Func<Group, Group> change, ETag ifMatch, CancellationToken ct)
    {
        var before = await GetAsync(tenantId, name, ct);
        if (ifMatch != ETag.All && before.ETag != default && ifMatch != before.ETag) throw FleetException.PreconditionFailed();
        var after = change(before) with { UpdatedAt = clock.GetUtcNow() };
        try
        {
            var response = before.ETag == default
                ? await Table.AddEntityAsync(ToEntity(tenantId, after), ct) // first edit of 'unassigned'
                : await Table.UpdateEntityAsync(ToEntity(tenantId, after), before.ETag, TableUpdateMode.Replace, ct);
            return (before, after with { ETag = response.Headers.ETag ?? default });
        }
        catch (RequestFailedException e) when (e.IsPreconditionFailed() || e.IsConflict())
        {
            throw FleetException.PreconditionFailed();
        }
    }

    public async Task<Group> DeleteAsync(string tenantId, string name, ETag ifMatch, CancellationToken ct)
    {
        if (name == GroupNames.Unassigned) throw FleetException.Conflict("The 'unassigned' group cannot be deleted.");
        var group = await GetAsync(tenantId, name, ct);
        if (ifMatch != ETag.All && ifMatch != group.ETag) throw FleetException.PreconditionFailed();
        var members = (await devices.ScanGroupsAsync(tenantId, ct)).Count(d => d.Group == name);
        if (members > 0) throw FleetException.Conflict($"Group '{name}' still has {members} devices; move them first.");
        await Table.DeleteEntityAsync(tenantId, name, group.ETag, ct);
        return group;
    }

    private static GroupWithCounts WithCounts(Group g, IReadOnlyList<(string Serial, string Group, string? Release, string? DeviceType)> scan)
    {
        var members = scan.Where(d => d.Group == g.Name).ToList();
        var desired = g.DesiredReleases.Values.ToHashSet(StringComparer.Ordinal);
        var upToDate = desired.Count == 0 ? 0 : members.Count(d => d.Release is not null && desired.Contains(d.Release));
        return new GroupWithCounts(g, members.Count, upToDate);
    }

    private Group Unassigned() => new(GroupNames.Unassigned, "Devices in no other group", null, new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    private static TableEntity ToEntity(string tenantId, Group g) => new(tenantId, g.Name)
    {
        ["Description"] = g.Description,
        ["DeviceType"] = g.DeviceType,
        ["DesiredReleases"] = JsonSerializer.Serialize(g.DesiredReleases),
        ["CreatedAt"] = g.CreatedAt,
        ["UpdatedAt"] = g.UpdatedAt,
    };

    private static Group FromEntity(TableEntity e) => new(
        e.RowKey, e.GetString("Description"), e.GetString("DeviceType"),
        JsonSerializer.Deserialize<Dictionary<string, string>>(e.GetString("DesiredReleases") ?? "{}")!,
        e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, e.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue, e.ETag);
}
