using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Actions;

/// <summary>
/// <c>actions</c> (PartitionKey = tenant, RowKey = action id) and <c>actiondevices</c> (PartitionKey =
/// <c>{tenant}:{action}:NN</c>, see <see cref="RecordPartitions"/>, RowKey = serial): one record per targeted device, a confirmation is one record write, and
/// progress is read from counters kept in the same partition and moved in the same transaction as each record.
/// </summary>
public sealed class ActionStore(FleetStorage storage, TimeProvider clock)
{
    public const string ActionsTable = "actions";
    public const string RecordsTable = "actiondevices";
    private TableClient Actions => storage.Table(ActionsTable);
    private const string DeliveredCounter = "Delivered";
    private TableClient Records => storage.Table(RecordsTable);
    private PartitionCounters Counters => new(Records);

    private static string StatusCounter(string status) => "Status_" + status;

    public string NewId() => TimeOrderedIds.New(clock);

    private static string RecordScope(string tenantId, string actionId) => $"{tenantId}:{actionId}";

    public static string RecordPartition(string tenantId, string actionId, string serial) => RecordPartitions.Of(RecordScope(tenantId, actionId), serial);

    public async Task CreateAsync(DeviceAction action, IReadOnlyList<string> serials, CancellationToken ct)
    {
        // Records first: an action row always has all its records.
        var records = serials.Select((serial, i) => ToEntity(action.TenantId, action.Id, new DeviceActionRecord(serial, DeviceActionStatuses.Pending,
            i / action.Rollout.BatchSize, null, action.CreatedAt, null, null, null, null, null, null))).ToList();
        await Parallel.ForEachAsync(records.GroupBy(r => r.PartitionKey).SelectMany(p => p.Chunk(100)), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
            async (chunk, token) => await Records.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), token));
        await Counters.SeedAsync(records.Select(r => (r.PartitionKey, StatusCounter(DeviceActionStatuses.Pending))), ct);
        await Actions.AddOnceAsync(ToEntity(action), ct);
    }

    public async Task<DeviceAction?> FindAsync(string tenantId, string id, CancellationToken ct)
    {
        if (id.Length is 0 or > 40 || !id.All(char.IsAsciiLetterOrDigit)) return null;
        var row = await Actions.GetEntityIfExistsAsync<TableEntity>(tenantId, id, cancellationToken: ct);
        return row.HasValue && row.Value is not null ? FromEntity(row.Value) : null;
    }

    public async Task<DeviceAction> GetAsync(string tenantId, string id, CancellationToken ct) =>
        await FindAsync(tenantId, id, ct) ?? throw FleetException.NotFound("Action", id);

    public Task SetStatusAsync(string tenantId, string id, string status, CancellationToken ct) =>
        Actions.UpdateEntityAsync(new TableEntity(tenantId, id) { ["Status"] = status }, ETag.All, TableUpdateMode.Merge, ct);

    public async Task<DeviceActionRecord?> FindRecordAsync(string tenantId, string actionId, string serial, CancellationToken ct)
    {
        var row = await Records.GetEntityIfExistsAsync<TableEntity>(RecordPartition(tenantId, actionId, serial), serial, cancellationToken: ct);
        return row.HasValue && row.Value is not null ? RecordFromEntity(row.Value) : null;
    }

    /// <summary>Writes a record changed from the version read (and its progress counts); false when someone else changed it first.</summary>
    public Task<bool> TryUpdateRecordAsync(string tenantId, string actionId, DeviceActionRecord before, DeviceActionRecord after, CancellationToken ct) =>
        TryUpdateRecordsAsync(tenantId, actionId, [(before, after)], ct);

    /// <summary>Several records of one partition and their counts in one transaction; false when any of them moved first.</summary>
    public Task<bool> TryUpdateRecordsAsync(string tenantId, string actionId, IReadOnlyList<(DeviceActionRecord Before, DeviceActionRecord After)> changes, CancellationToken ct)
    {
        var deltas = new Dictionary<string, long>();
        void Add(string counter, long delta) => deltas[counter] = deltas.GetValueOrDefault(counter) + delta;
        var entities = new List<TableEntity>();
        foreach (var (before, after) in changes)
        {
            Add(DeliveredCounter, (after.DeliveredAt is null ? 0 : 1) - (before.DeliveredAt is null ? 0 : 1));
            Add(StatusCounter(before.Status), -1);
            Add(StatusCounter(after.Status), 1);
            var entity = ToEntity(tenantId, actionId, after);
            entity.ETag = before.ETag;
            entities.Add(entity);
        }
        return Counters.TryWriteAsync(entities, deltas, ct);
    }

    public Task<ListPage<DeviceActionRecord>> ListRecordsAsync(string tenantId, string actionId, PageRequest page, CancellationToken ct) =>
        TablePager.ReadAsync<TableEntity, DeviceActionRecord>(Records,
            TableFilters.And(RecordPartitions.Filter(RecordScope(tenantId, actionId)), PartitionCounters.ExcludeCounters), page, RecordFromEntity, ct);

    public async Task<IReadOnlyList<DeviceActionRecord>> RecordsAsync(string tenantId, string actionId, string? status = null, int? batch = null, CancellationToken ct = default)
    {
        var filter = TableFilters.And(RecordPartitions.Filter(RecordScope(tenantId, actionId)), PartitionCounters.ExcludeCounters,
            status is null ? null : $"Status eq {TableFilters.Quote(status)}", batch is null ? null : $"Batch eq {batch}");
        var records = new List<DeviceActionRecord>();
        await foreach (var row in Records.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct)) records.Add(RecordFromEntity(row));
        return records;
    }

    /// <summary>The tenant's actions, oldest first (ids are time-ordered), each with its progress; optionally of one status.</summary>
    public async Task<ListPage<ActionSummary>> ListAsync(string tenantId, string? status, PageRequest page, CancellationToken ct)
    {
        var actions = await TablePager.ReadAsync<TableEntity, DeviceAction>(Actions,
            TableFilters.And(TableFilters.PartitionEquals(tenantId), status is null ? null : $"Status eq {TableFilters.Quote(status)}"), page, FromEntity, ct);
        var summaries = await Task.WhenAll(actions.Items.Select(async a => new ActionSummary(a, await ProgressAsync(tenantId, a.Id, ct))));
        return new ListPage<ActionSummary>(summaries, actions.Next, actions.Previous);
    }

    public async Task<ActionProgress> ProgressAsync(string tenantId, string actionId, CancellationToken ct)
    {
        var counts = await Counters.ReadAsync(RecordPartitions.All(RecordScope(tenantId, actionId)), ct);
        int Count(string status) => (int)counts.GetValueOrDefault(StatusCounter(status));
        var total = counts.Where(c => c.Key.StartsWith("Status_", StringComparison.Ordinal)).Sum(c => (int)c.Value);
        return new ActionProgress(total, (int)counts.GetValueOrDefault(DeliveredCounter), Count(DeviceActionStatuses.Succeeded), Count(DeviceActionStatuses.Failed),
            Count(DeviceActionStatuses.TimedOut), Count(DeviceActionStatuses.Canceled));
    }

    private static TableEntity ToEntity(DeviceAction a) => new(a.TenantId, a.Id)
    {
        ["Type"] = a.Type,
        ["Params"] = a.Params.ToJsonString(),
        ["Total"] = a.Total,
        ["Batches"] = a.Batches,
        ["Rollout"] = JsonSerializer.Serialize(a.Rollout),
        ["CreatedAt"] = a.CreatedAt,
        ["ExpiresAt"] = a.ExpiresAt,
        ["Status"] = a.Status,
        ["CreatedBy"] = a.CreatedBy,
    };

    private static DeviceAction FromEntity(TableEntity e) => new(e.RowKey, e.PartitionKey, e.GetString("Type")!, JsonNode.Parse(e.GetString("Params") ?? "{}")!.AsObject(),
        e.GetInt32("Total") ?? 0, e.GetInt32("Batches") ?? 0, JsonSerializer.Deserialize<Rollout>(e.GetString("Rollout")!)!,
        e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, e.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue,
        e.GetString("Status") ?? ActionStatuses.Pending, e.GetString("CreatedBy") ?? "");

    private static TableEntity ToEntity(string tenantId, string actionId, DeviceActionRecord r) => new(RecordPartition(tenantId, actionId, r.Serial), r.Serial)
    {
        ["Status"] = r.Status,
        ["Batch"] = r.Batch,
        ["Seq"] = r.Seq,
        ["CreatedAt"] = r.CreatedAt,
        ["DeliveredAt"] = r.DeliveredAt,
        ["SucceededAt"] = r.SucceededAt,
        ["FailedAt"] = r.FailedAt,
        ["TimedOutAt"] = r.TimedOutAt,
        ["CanceledAt"] = r.CanceledAt,
        ["Result"] = r.Result,
    };

    private static DeviceActionRecord RecordFromEntity(TableEntity e) => new(e.RowKey, e.GetString("Status")!, e.GetInt32("Batch") ?? 0, e.GetInt64("Seq"),
        e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, e.GetDateTimeOffset("DeliveredAt"), e.GetDateTimeOffset("SucceededAt"),
        e.GetDateTimeOffset("FailedAt"), e.GetDateTimeOffset("TimedOutAt"), e.GetDateTimeOffset("CanceledAt"), e.GetString("Result"), e.ETag);
}
