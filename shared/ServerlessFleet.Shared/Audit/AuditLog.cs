using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Audit;

/// <summary>
/// <c>auditlog</c> table: PartitionKey = tenant, RowKey = inverted ticks + id, so a tenant's log reads newest
/// first and a time range is a RowKey range; actor/action/object filters are evaluated by Table storage.
/// </summary>
public sealed class AuditLog(FleetStorage storage, TimeProvider clock)
{
    public const string TableName = "auditlog";
    private const int MaxChangesLength = 30_000;
    private TableClient Table => storage.Table(TableName);

    public Task<AuditEntry> RecordAsync(Actor actor, string action, string objectType, string objectId, object? before, object? after, CancellationToken ct) =>
        RecordAsync(actor.TenantId, actor.KeyId, action, objectType, objectId, before, after, actor.RequestId, ct);

    public async Task<AuditEntry> RecordAsync(string tenantId, string actorKeyId, string action, string objectType, string objectId,
        object? before, object? after, string? requestId, CancellationToken ct)
    {
        var time = clock.GetUtcNow();
        var id = Guid.NewGuid().ToString("n")[..12];
        var changes = ChangeSet.Between(Snapshot(before), Snapshot(after));
        var entry = new AuditEntry($"{RowKey(time)}-{id}", time, tenantId, actorKeyId, action, objectType, objectId, changes, requestId);
        var json = SerializeChanges(changes);
        await Table.AddOnceAsync(new TableEntity(tenantId, entry.Id)
        {
            ["Time"] = time,
            ["ActorKeyId"] = actorKeyId,
            ["Action"] = action,
            ["ObjectType"] = objectType,
            ["ObjectId"] = objectId,
            // Too large to keep whole: keep which fields changed.
            ["Changes"] = json.Length <= MaxChangesLength ? json : SerializeChanges(new Dictionary<string, FieldChange>
            {
                ["$truncated"] = new(null, JsonSerializer.SerializeToNode(changes.Keys.ToList())),
            }),
            ["RequestId"] = requestId,
        }, ct);
        return entry;
    }

    public Task<ListPage<AuditEntry>> ListAsync(string tenantId, AuditQuery query, PageRequest page, CancellationToken ct)
    {
        var clauses = new List<string?> { TableFilters.PartitionEquals(tenantId) };
        // Newer entries have smaller row keys.
        if (query.Until is { } until) clauses.Add($"RowKey ge {TableFilters.Quote(RowKey(until))}");
        if (query.Since is { } since) clauses.Add($"RowKey lt {TableFilters.Quote(RowKey(since) + "~")}");
        if (query.ActorKeyId is not null) clauses.Add($"ActorKeyId eq {TableFilters.Quote(query.ActorKeyId)}");
        if (query.Action is not null) clauses.Add($"Action eq {TableFilters.Quote(query.Action)}");
        if (query.ObjectType is not null) clauses.Add($"ObjectType eq {TableFilters.Quote(query.ObjectType)}");
        if (query.ObjectId is not null) clauses.Add($"ObjectId eq {TableFilters.Quote(query.ObjectId)}");
        return TablePager.ReadAsync<TableEntity, AuditEntry>(Table, TableFilters.And(clauses.ToArray()), page, FromEntity, ct);
    }

    /// <summary>The changes as the API shows them: <c>{"field": {"before": …, "after": …}}</c>.</summary>
    public static string SerializeChanges(IReadOnlyDictionary<string, FieldChange> changes) => JsonSerializer.Serialize(changes, SnapshotJson);

    private static string RowKey(DateTimeOffset time) =>
        (DateTimeOffset.MaxValue.UtcTicks - time.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);

    private static JsonNode? Snapshot(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        _ => JsonSerializer.SerializeToNode(value, value.GetType(), SnapshotJson),
    };

    private static readonly JsonSerializerOptions SnapshotJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private static AuditEntry FromEntity(TableEntity e) => new(
        e.RowKey, e.GetDateTimeOffset("Time") ?? DateTimeOffset.MinValue, e.PartitionKey, e.GetString("ActorKeyId") ?? "",
        e.GetString("Action") ?? "", e.GetString("ObjectType") ?? "", e.GetString("ObjectId") ?? "",
        JsonSerializer.Deserialize<Dictionary<string, FieldChange>>(e.GetString("Changes") ?? "{}", SnapshotJson) ?? new Dictionary<string, FieldChange>(),
        e.GetString("RequestId"));
}
