using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Actions;

/// <summary>
/// A device's action inbox, in the device's own partition of the <c>devices</c> table: entries
/// <c>inbox|{seq}</c> and a marker <c>inboxref|{action}</c> per action, rows this store alone writes, and the device
/// row's <c>InboxSeq</c>, which <see cref="DeviceStore"/> advances. A delivery
/// bumps the counter, adds the marker and the entry in one transaction guarded by the device row's ETag, so an
/// action lands in an inbox exactly once with a strictly increasing sequence number, however often it is delivered.
/// </summary>
public sealed class DeviceInbox(FleetStorage storage, DeviceStore devices)
{
    private const string EntryPrefix = "inbox|";
    private const string MarkerPrefix = "inboxref|";
    private const int PointReadBacklog = 20;
    private TableClient Table => storage.Table(DeviceKeys.TableName);

    private static string EntryKey(long seq) => $"{EntryPrefix}{seq:D12}";

    /// <summary>The entry's sequence number, or null when the device does not exist (or was decommissioned).</summary>
    public async Task<long?> DeliverAsync(string tenantId, string serial, DeviceAction action, JsonObject parameters, CancellationToken ct)
    {
        var partition = DeviceKeys.Partition(tenantId, serial);
        for (var attempt = 0; ; attempt++)
        {
            // Two point reads rather than one partition query: a point read stays cheap however large the table grows.
            var deviceRead = devices.ReadAsync(tenantId, serial, ct);
            var markerRead = Table.GetEntityIfExistsAsync<TableEntity>(partition, MarkerPrefix + action.Id, cancellationToken: ct);
            var (device, marker) = (await deviceRead, await markerRead);
            var existing = marker.HasValue ? marker.Value?.GetInt64("Seq") : null;
            if (existing is not null) return existing;
            if (device is null || device.Status == DeviceStatuses.Decommissioned) return null;

            var seq = device.InboxSeq + 1;
            try
            {
                await Table.SubmitTransactionAsync([
                    DeviceStore.InboxSeqAction(device, seq),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition, MarkerPrefix + action.Id) { ["Seq"] = seq }),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition, EntryKey(seq))
                    {
                        ["ActionId"] = action.Id,
                        ["Type"] = action.Type,
                        ["Params"] = parameters.ToJsonString(),
                        ["CreatedAt"] = action.CreatedAt,
                        ["ExpiresAt"] = action.ExpiresAt,
                        ["Status"] = DeviceActionStatuses.Pending,
                    }),
                ], ct);
                return seq;
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < 10)
            {
                // The device row moved (a heartbeat, another delivery): read again.
            }
        }
    }

    public async Task<long?> FindSeqAsync(string tenantId, string serial, string actionId, CancellationToken ct)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(DeviceKeys.Partition(tenantId, serial), MarkerPrefix + actionId, cancellationToken: ct);
        return row.HasValue ? row.Value?.GetInt64("Seq") : null;
    }

    /// <summary>
    /// Entries after <paramref name="afterSeq"/> still waiting for the device, in sequence order. With the device row's
    /// <paramref name="inboxSeq"/> at hand (the device's own request read it), a device with nothing new costs no read
    /// and a short backlog costs one point read per entry; otherwise one partition range read.
    /// </summary>
    public async Task<IReadOnlyList<InboxEntry>> PendingAsync(string tenantId, string serial, long afterSeq, DateTimeOffset now, CancellationToken ct,
        long? inboxSeq = null)
    {
        var partition = DeviceKeys.Partition(tenantId, serial);
        var entries = new List<InboxEntry>();
        if (inboxSeq is { } newest && newest - afterSeq <= PointReadBacklog)
        {
            var reads = new List<Task<NullableResponse<TableEntity>>>();
            for (var seq = afterSeq + 1; seq <= newest; seq++) reads.Add(Table.GetEntityIfExistsAsync<TableEntity>(partition, EntryKey(seq), cancellationToken: ct));
            foreach (var read in reads)
                if ((await read) is { HasValue: true, Value: { } row }) entries.Add(FromEntity(row));
        }
        else
        {
            var filter = TableFilters.And(TableFilters.PartitionEquals(partition), $"RowKey gt {TableFilters.Quote(EntryKey(afterSeq))} and RowKey lt 'inbox}}'");
            await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct)) entries.Add(FromEntity(row));
        }
        return entries.Where(e => e.Status == DeviceActionStatuses.Pending && e.ExpiresAt > now).ToList();
    }

    public Task<ListPage<InboxEntry>> HistoryAsync(string tenantId, string serial, PageRequest page, CancellationToken ct) =>
        TablePager.ReadAsync<TableEntity, InboxEntry>(Table,
            TableFilters.And(TableFilters.PartitionEquals(DeviceKeys.Partition(tenantId, serial)), TableFilters.RowKeyStartsWith(EntryPrefix)), page, FromEntity, ct);

    public Task SetStatusAsync(string tenantId, string serial, long seq, string status, CancellationToken ct) =>
        Table.UpdateEntityAsync(new TableEntity(DeviceKeys.Partition(tenantId, serial), EntryKey(seq)) { ["Status"] = status }, ETag.All, TableUpdateMode.Merge, ct);

    private static InboxEntry FromEntity(TableEntity e) => new(long.Parse(e.RowKey[EntryPrefix.Length..]), e.GetString("ActionId")!, e.GetString("Type")!,
        JsonNode.Parse(e.GetString("Params") ?? "{}")!.AsObject(), e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
        e.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue, e.GetString("Status") ?? DeviceActionStatuses.Pending);
}
