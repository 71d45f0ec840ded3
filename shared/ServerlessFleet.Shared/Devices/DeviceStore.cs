using System.Globalization;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Devices;

/// <summary>
/// Devices of a tenant. Reads by serial are point reads; writes are read-modify-write guarded by the row's
/// ETag, retried on a concurrent change unless the caller pinned a version with If-Match (then 412).
/// </summary>
public sealed class DeviceStore(FleetStorage storage, TimeProvider clock)
{
    private TableClient Table => storage.Table(DeviceKeys.TableName);

    public async Task<Device> CreateAsync(string tenantId, NewDevice request, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var device = new Device(tenantId, request.Serial, request.Name, request.OwnerRef, request.HardwareVersion, request.DeviceType,
            request.Group, request.Tags, DeviceStatuses.NoAuth, now, now, null, new Dictionary<AttributeScope, IReadOnlyDictionary<string, JsonNode?>>());
        try
        {
            var response = await Table.AddEntityAsync(DeviceEntity.ToEntity(device), ct);
            return device with { ETag = response.Headers.ETag ?? default };
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            // A decommissioned serial may be registered again; an active one may not.
            var existing = await Table.GetEntityAsync<TableEntity>(DeviceKeys.Partition(tenantId, request.Serial), DeviceKeys.DeviceRow, cancellationToken: ct);
            if (DeviceEntity.FromEntity(existing.Value).Status != DeviceStatuses.Decommissioned)
                throw FleetException.Conflict($"A device with serial '{request.Serial}' already exists.");
            var response = await Table.UpdateEntityAsync(DeviceEntity.ToEntity(device), existing.Value.ETag, TableUpdateMode.Replace, ct);
            return device with { ETag = response.Headers.ETag ?? default };
        }
    }

    /// <summary>The device, or null when it does not exist or was decommissioned.</summary>
    public async Task<Device?> FindAsync(string tenantId, string serial, CancellationToken ct)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow, cancellationToken: ct);
        if (!row.HasValue || row.Value is null) return null;
        var device = DeviceEntity.FromEntity(row.Value);
        return device.Status == DeviceStatuses.Decommissioned ? null : device;
    }

    public async Task<Device> GetAsync(string tenantId, string serial, CancellationToken ct) =>
        await FindAsync(tenantId, serial, ct) ?? throw FleetException.NotFound("Device", serial);

    /// <summary>
    /// Applies <paramref name="change"/> to the current device and writes it. Without <paramref name="ifMatch"/>
    /// a concurrent write makes it re-read and re-apply (a merge), with backoff, however many writers there are; the
    /// caller never sees a precondition it did not set. With it, a changed device is a 412.
    /// </summary>
    public async Task<(Device Before, Device After)> UpdateAsync(string tenantId, string serial, Func<Device, Device> change,
        ETag? ifMatch, CancellationToken ct)
    {
        var pinned = ifMatch is { } tag && tag != ETag.All ? tag : (ETag?)null;
        Device? before = null;
        var written = default(ETag);
        var after = await OptimisticUpdate.RunAsync(
            () => FindAsync(tenantId, serial, ct),
            current =>
            {
                if (pinned is { } expected && expected != current.ETag) throw FleetException.PreconditionFailed();
                before = current;
                return change(current) with { UpdatedAt = clock.GetUtcNow() };
            },
            async (current, next) =>
            {
                try
                {
                    written = (await Table.UpdateEntityAsync(DeviceEntity.ToEntity(next), current.ETag, TableUpdateMode.Replace, ct)).Headers.ETag ?? default;
                    return true;
                }
                catch (RequestFailedException e) when (e.IsPreconditionFailed())
                {
                    if (pinned is not null) throw FleetException.PreconditionFailed();
                    return false;
                }
            }, $"Device {serial}");
        return after is null ? throw FleetException.NotFound("Device", serial) : (before!, after with { ETag = written });
    }

    /// <summary>Sets the device's count of invalid reports in a row; one merge of one column, no read.</summary>
    public Task SetInvalidReportsAsync(string tenantId, string serial, int count, CancellationToken ct) =>
        Table.UpdateEntityAsync(new TableEntity(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow) { [DeviceEntity.InvalidReportsColumn] = count },
            ETag.All, TableUpdateMode.Merge, ct);

    /// <summary>Records that the device was seen; one merge of one column, no read.</summary>
    public Task RecordSeenAsync(string tenantId, string serial, DateTimeOffset at, CancellationToken ct) =>
        Table.UpdateEntityAsync(new TableEntity(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow) { ["LastSeen"] = at },
            ETag.All, TableUpdateMode.Merge, ct);

    public async Task<ListPage<Device>> ListAsync(string tenantId, DeviceQuery query, PageRequest page, CancellationToken ct)
    {
        var filter = query.StorageFilter(tenantId);
        if (query.Sort == DeviceSort.Serial)
        {
            // Keyset paging on the partition key: the page resumes after the last serial it returned.
            var start = page.Start is null ? filter
                : TableFilters.And(filter, $"PartitionKey gt {TableFilters.Quote(DeviceKeys.Partition(tenantId, page.Start))}");
            var items = new List<Device>(page.Limit + 1);
            await foreach (var row in Table.QueryAsync<TableEntity>(start, maxPerPage: 1000, cancellationToken: ct))
            {
                var device = DeviceEntity.FromEntity(row);
                if (!query.Matches(device)) continue;
                items.Add(device);
                if (items.Count > page.Limit) break;
            }
            return Page(items, page, d => d.Serial);
        }

        // Other orders: scan the tenant's matching devices, sort, and resume after the last (key, serial).
        var all = new List<Device>();
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct))
        {
            var device = DeviceEntity.FromEntity(row);
            if (query.Matches(device)) all.Add(device);
        }
        var descending = query.Sort is DeviceSort.CreatedAtDescending or DeviceSort.LastSeenDescending;
        Func<Device, string> cursor = query.Sort is DeviceSort.CreatedAt or DeviceSort.CreatedAtDescending
            ? d => SortKey(d.CreatedAt, descending) + "|" + d.Serial
            : d => SortKey(d.LastSeen, descending) + "|" + d.Serial;
        var ordered = all.OrderBy(cursor, StringComparer.Ordinal);
        var rest = page.Start is null ? ordered : ordered.Where(d => string.CompareOrdinal(cursor(d), page.Start) > 0);
        return Page(rest.Take(page.Limit + 1).ToList(), page, cursor);
    }

    /// <summary>Projected scan of a tenant's active devices (group counts, move planning).</summary>
    public async Task<IReadOnlyList<(string Serial, string Group, string? Release, string? DeviceType)>> ScanGroupsAsync(string tenantId, CancellationToken ct)
    {
        var rows = new List<(string, string, string?, string?)>();
        var filter = TableFilters.And(DeviceKeys.TenantRange(tenantId), $"RowKey eq '{DeviceKeys.DeviceRow}'", "Active eq true");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "Group", "Release", "DeviceType"], cancellationToken: ct))
            rows.Add((DeviceKeys.SerialOf(row.PartitionKey), row.GetString("Group") ?? Device.UnassignedGroup, row.GetString("Release"), row.GetString("DeviceType")));
        return rows;
    }

    private static ListPage<Device> Page(List<Device> items, PageRequest page, Func<Device, string> cursor)
    {
        var more = items.Count > page.Limit;
        var shown = more ? items.Take(page.Limit).ToList() : items;
        return new ListPage<Device>(shown, more ? page.After(cursor(shown[^1])) : null, page.Back());
    }

    /// <summary>An ordinal-sortable key; never-seen devices sort last in either direction.</summary>
    private static string SortKey(DateTimeOffset? time, bool descending) => time is null
        ? "~"
        : (descending ? DateTimeOffset.MaxValue.UtcTicks - time.Value.UtcTicks : time.Value.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);
}
