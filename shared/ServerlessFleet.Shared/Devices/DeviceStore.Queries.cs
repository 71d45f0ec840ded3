using System.Globalization;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Devices;

/// <summary>Listing, scanning and counting a tenant's devices.</summary>
public sealed partial class DeviceStore
{
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

    /// <summary>Active devices, or those of one admission status (a projected scan of the tenant's device rows).</summary>
    public async Task<int> CountAsync(string tenantId, string? status, CancellationToken ct)
    {
        var filter = TableFilters.And(DeviceKeys.TenantRange(tenantId), $"RowKey eq '{DeviceKeys.DeviceRow}'", "Active eq true",
            status is null ? null : $"Status eq {TableFilters.Quote(status)}");
        var count = 0;
        await foreach (var _ in Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey"], cancellationToken: ct)) count++;
        return count;
    }
}
