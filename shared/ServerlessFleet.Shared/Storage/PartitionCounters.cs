using Azure;
using Azure.Data.Tables;

namespace ServerlessFleet.Shared.Storage;

/// <summary>
/// Counts kept beside the records they count: shard rows <c>!count|NN</c> in the records' own partition. A record's
/// change and its counter delta commit in one entity-group transaction guarded by both ETags, so counts never drift,
/// even when a write is retried after a crash; reading all counts is one range read of a few rows instead of a scan
/// of every record. Shards spread concurrent writers (a record always uses the shard its key hashes to).
/// Record keys must sort after <c>!count}</c> (anything starting with a letter, digit, '-', '.', '_' or ':').
/// </summary>
public sealed class PartitionCounters(TableClient table, int shards = 16)
{
    private const string RowPrefix = "!count|";

    /// <summary>Filter clause that leaves the counter rows out of a scan of the partition's records.</summary>
    public static string ExcludeCounters => $"RowKey gt {TableFilters.Quote(RowPrefix[..^1] + (char)(RowPrefix[^1] + 1))}";

    public string ShardOf(string recordKey)
    {
        // FNV-1a: string.GetHashCode is randomised per process, and every process must pick the same shard.
        var hash = 2166136261u;
        foreach (var c in recordKey) hash = (hash ^ c) * 16777619u;
        return $"{RowPrefix}{hash % (uint)shards:D2}";
    }

    /// <summary>Adds initial counts (before any record is changed); safe to repeat with the same counts.</summary>
    public async Task SeedAsync(string partition, IEnumerable<(string RecordKey, string Counter)> records, CancellationToken ct)
    {
        var rows = new Dictionary<string, TableEntity>();
        foreach (var (key, counter) in records)
        {
            var shard = ShardOf(key);
            if (!rows.TryGetValue(shard, out var row)) rows[shard] = row = new TableEntity(partition, shard);
            row[counter] = (row.GetInt64(counter) ?? 0) + 1;
        }
        foreach (var chunk in rows.Values.Chunk(100))
            await table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), ct);
    }

    /// <summary>
    /// Writes <paramref name="record"/> (replace, guarded by its ETag, or insert when the ETag is empty) together with
    /// <paramref name="deltas"/> on its shard. False when the record or the shard moved meanwhile: read again and retry.
    /// </summary>
    public async Task<bool> TryWriteAsync(TableEntity record, IReadOnlyDictionary<string, long> deltas, CancellationToken ct)
    {
        var recordWrite = record.ETag == default
            ? new TableTransactionAction(TableTransactionActionType.Add, record)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, record, record.ETag);
        var changes = deltas.Where(d => d.Value != 0).ToList();
        try
        {
            if (changes.Count == 0)
            {
                await table.SubmitTransactionAsync([recordWrite], ct);
                return true;
            }
            var shardKey = ShardOf(record.RowKey);
            var current = await table.GetEntityIfExistsAsync<TableEntity>(record.PartitionKey, shardKey, cancellationToken: ct);
            var shard = current.HasValue && current.Value is not null ? current.Value : new TableEntity(record.PartitionKey, shardKey);
            foreach (var (counter, delta) in changes) shard[counter] = (shard.GetInt64(counter) ?? 0) + delta;
            var shardWrite = current.HasValue
                ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, shard, shard.ETag)
                : new TableTransactionAction(TableTransactionActionType.Add, shard);
            await table.SubmitTransactionAsync([recordWrite, shardWrite], ct);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    /// <summary>Every counter summed over the shards: one range read.</summary>
    public async Task<IReadOnlyDictionary<string, long>> ReadAsync(string partition, CancellationToken ct)
    {
        var totals = new Dictionary<string, long>();
        var filter = TableFilters.And(TableFilters.PartitionEquals(partition), TableFilters.RowKeyStartsWith(RowPrefix));
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct))
            foreach (var (name, value) in row)
                if (value is long or int && name is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
                    totals[name] = totals.GetValueOrDefault(name) + Convert.ToInt64(value);
        return totals;
    }
}
