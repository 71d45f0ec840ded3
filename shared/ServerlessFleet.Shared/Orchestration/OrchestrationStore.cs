using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Orchestration;

/// <summary>
/// The <c>orchestrations</c> table. One partition per instance (PartitionKey = instance id) holds the
/// <c>state</c> row, inbox rows <c>m-…</c> and outbox rows <c>o-…</c>; being one partition, a step commits
/// its new state, its outgoing messages and the removal of the messages it consumed in one transaction.
/// </summary>
internal sealed class OrchestrationStore(FleetStorage storage)
{
    public const string TableName = OrchestrationQueues.Table;
    private const string StateKey = "state";
    private const string OutboxPrefix = "o-";
    /// <summary>Inbox rows a step consumes at most; with the state and outbox rows it stays under the 100-operation transaction limit.</summary>
    public const int MaxMessagesPerStep = 90;

    private static readonly string[] StatusColumns =
        ["PartitionKey", "RowKey", "Name", "TenantId", "RuntimeStatus", "Input", "Output", "CustomStatus", "FailureType", "FailureMessage", "CreatedTime", "LastUpdatedTime"];

    private TableClient Table => storage.Table(TableName);

    public async Task<bool> TryCreateAsync(InstanceState state, InboxMessage start, CancellationToken ct)
    {
        try
        {
            await Table.SubmitTransactionAsync([
                new TableTransactionAction(TableTransactionActionType.Add, ToEntity(state)),
                new TableTransactionAction(TableTransactionActionType.Add, ToEntity(state.InstanceId, start)),
            ], ct);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    public async Task<InstanceState?> ReadStateAsync(string instanceId, CancellationToken ct)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(instanceId, StateKey, cancellationToken: ct);
        return row.HasValue && row.Value is not null ? FromEntity(row.Value) : null;
    }

    public async Task<OrchestrationStatus?> ReadStatusAsync(string instanceId, CancellationToken ct)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(instanceId, StateKey, StatusColumns, ct);
        return row.HasValue && row.Value is not null ? FromEntity(row.Value, withHistory: false).ToStatus() : null;
    }

    /// <summary>Inbox and outbox rows, without the (large) state row: a cheap check whether a step has anything to do.</summary>
    public async Task<(List<InboxMessage> Inbox, List<(string RowKey, List<OutgoingMessage> Messages)> Outbox)> ReadPendingAsync(string instanceId, CancellationToken ct)
    {
        var inbox = new List<InboxMessage>();
        var outbox = new List<(string, List<OutgoingMessage>)>();
        // 'm-…' and 'o-…' sort before 'state'.
        var filter = $"{TableFilters.PartitionEquals(instanceId)} and RowKey lt {TableFilters.Quote(StateKey)}";
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct))
        {
            if (row.RowKey.StartsWith(OutboxPrefix, StringComparison.Ordinal))
                outbox.Add((row.RowKey, JsonSerializer.Deserialize<List<OutgoingMessage>>(ChunkedProperty.Read(row, "M")!, OrchestrationJson.Options)!));
            else if (row.RowKey.StartsWith(InboxKeys.Prefix, StringComparison.Ordinal))
                inbox.Add(InboxFromEntity(row));
        }
        inbox.Sort((a, b) => a.EnqueuedAt != b.EnqueuedAt ? a.EnqueuedAt.CompareTo(b.EnqueuedAt) : string.CompareOrdinal(a.RowKey, b.RowKey));
        return (inbox, outbox);
    }

    /// <summary>Writes an inbox message; rewriting the same message (a redelivery) is harmless.</summary>
    public Task WriteInboxAsync(string instanceId, InboxMessage message, CancellationToken ct) =>
        Table.UpsertEntityAsync(ToEntity(instanceId, message), TableUpdateMode.Replace, ct);

    /// <summary>Commits a step: new state (only if nobody else committed since it was read), its outbox, the consumed inbox rows gone.</summary>
    public async Task<bool> TryCommitAsync(InstanceState state, IReadOnlyList<OutgoingMessage> outgoing, IEnumerable<string> consumed, CancellationToken ct)
    {
        var actions = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.UpdateReplace, ToEntity(state), state.ETag),
        };
        if (outgoing.Count > 0) actions.Add(new TableTransactionAction(TableTransactionActionType.Add, OutboxEntity(state, outgoing)));
        actions.AddRange(consumed.Select(rk => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(state.InstanceId, rk), ETag.All)));
        try
        {
            await Table.SubmitTransactionAsync(actions, ct);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 412 or 404 or 409)
        {
            return false;
        }
    }

    public static string OutboxKey(long episode) => $"{OutboxPrefix}{episode:D12}";

    public async Task DeleteRowAsync(string instanceId, string rowKey, CancellationToken ct)
    {
        try { await Table.DeleteEntityAsync(instanceId, rowKey, ETag.All, ct); }
        catch (RequestFailedException e) when (e.Status == 404) { }
    }

    public async Task<bool> PurgeAsync(string instanceId, CancellationToken ct)
    {
        var keys = new List<string>();
        await foreach (var row in Table.QueryAsync<TableEntity>(TableFilters.PartitionEquals(instanceId), select: ["RowKey"], cancellationToken: ct))
            keys.Add(row.RowKey);
        foreach (var rk in keys) await DeleteRowAsync(instanceId, rk, ct);
        return keys.Contains(StateKey);
    }

    public Task<ListPage<OrchestrationStatus>> ListAsync(OrchestrationQuery query, PageRequest page, CancellationToken ct)
    {
        var clauses = new List<string> { $"RowKey eq {TableFilters.Quote(StateKey)}" };
        if (query.TenantId is not null) clauses.Add($"TenantId eq {TableFilters.Quote(query.TenantId)}");
        if (query.Name is not null) clauses.Add($"Name eq {TableFilters.Quote(query.Name)}");
        if (query.Statuses is { Count: > 0 })
            clauses.Add(string.Join(" or ", query.Statuses.Select(s => $"RuntimeStatus eq {TableFilters.Quote(s.ToString())}")));
        if (query.CreatedFrom is { } from) clauses.Add($"CreatedTime ge datetime'{from.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffffffZ}'");
        if (query.CreatedTo is { } to) clauses.Add($"CreatedTime lt datetime'{to.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffffffZ}'");
        return TablePager.ReadAsync<TableEntity, OrchestrationStatus>(Table, TableFilters.And(clauses.ToArray()), page,
            e => FromEntity(e, withHistory: false).ToStatus(), ct, StatusColumns);
    }

    /// <summary>Instances with inbox or outbox rows untouched since <paramref name="before"/>: their wake-up may have been lost.</summary>
    public async Task<IReadOnlyCollection<string>> FindStalledAsync(DateTimeOffset before, CancellationToken ct)
    {
        var stamp = before.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");
        var filter = $"RowKey lt {TableFilters.Quote(StateKey)} and Timestamp lt datetime'{stamp}'";
        var instances = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: ct))
            instances.Add(row.PartitionKey);
        return instances;
    }

    private static TableEntity ToEntity(InstanceState s)
    {
        var entity = new TableEntity(s.InstanceId, StateKey)
        {
            ["Name"] = s.Name,
            ["TenantId"] = s.TenantId,
            ["RuntimeStatus"] = s.RuntimeStatus.ToString(),
            ["Input"] = s.Input,
            ["Output"] = s.Output,
            ["CustomStatus"] = s.CustomStatus,
            ["FailureType"] = s.Failure?.ErrorType,
            ["FailureMessage"] = s.Failure?.ErrorMessage,
            ["CreatedTime"] = s.CreatedTime,
            ["LastUpdatedTime"] = s.LastUpdatedTime,
            ["Generation"] = s.Generation,
            ["Episode"] = s.Episode,
        };
        ChunkedProperty.Write(entity, "H", JsonSerializer.Serialize(s.History, OrchestrationJson.Options));
        return entity;
    }

    private static InstanceState FromEntity(TableEntity e, bool withHistory = true) => new()
    {
        InstanceId = e.PartitionKey,
        Name = e.GetString("Name") ?? "",
        TenantId = e.GetString("TenantId"),
        RuntimeStatus = Enum.Parse<OrchestrationRuntimeStatus>(e.GetString("RuntimeStatus") ?? nameof(OrchestrationRuntimeStatus.Pending)),
        Input = e.GetString("Input"),
        Output = e.GetString("Output"),
        CustomStatus = e.GetString("CustomStatus"),
        Failure = e.GetString("FailureType") is { } type ? new FailureDetails(type, e.GetString("FailureMessage") ?? "") : null,
        CreatedTime = e.GetDateTimeOffset("CreatedTime") ?? DateTimeOffset.MinValue,
        LastUpdatedTime = e.GetDateTimeOffset("LastUpdatedTime") ?? DateTimeOffset.MinValue,
        Generation = e.GetInt32("Generation") ?? 0,
        Episode = e.GetInt64("Episode") ?? 0,
        History = withHistory && ChunkedProperty.Read(e, "H") is { } json
            ? JsonSerializer.Deserialize<List<HistoryEvent>>(json, OrchestrationJson.Options)!
            : [],
        ETag = e.ETag,
    };

    private static TableEntity OutboxEntity(InstanceState s, IReadOnlyList<OutgoingMessage> messages)
    {
        var entity = new TableEntity(s.InstanceId, OutboxKey(s.Episode));
        ChunkedProperty.Write(entity, "M", JsonSerializer.Serialize(messages, OrchestrationJson.Options));
        return entity;
    }

    private static TableEntity ToEntity(string instanceId, InboxMessage m)
    {
        var entity = new TableEntity(instanceId, m.RowKey)
        {
            ["Kind"] = m.Kind.ToString(),
            ["EnqueuedAt"] = m.EnqueuedAt,
            ["Generation"] = m.Generation,
            ["Id"] = m.Id,
            ["Name"] = m.Name,
            ["ErrorType"] = m.ErrorType,
            ["Failed"] = m.Failed,
        };
        ChunkedProperty.Write(entity, "D", m.Data);
        return entity;
    }

    private static InboxMessage InboxFromEntity(TableEntity e) => new(
        e.RowKey,
        Enum.Parse<InboxKind>(e.GetString("Kind")!),
        e.GetDateTimeOffset("EnqueuedAt") ?? DateTimeOffset.MinValue,
        e.GetInt32("Generation") ?? 0,
        e.GetInt32("Id") ?? -1,
        e.GetString("Name"),
        ChunkedProperty.Read(e, "D"),
        e.GetString("ErrorType"),
        e.GetBoolean("Failed") ?? false);
}

public sealed record OrchestrationQuery(
    string? TenantId = null,
    string? Name = null,
    IReadOnlyList<OrchestrationRuntimeStatus>? Statuses = null,
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedTo = null);
