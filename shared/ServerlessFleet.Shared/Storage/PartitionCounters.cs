using Azure.Data.Tables;

namespace ServerlessFleet.Shared.Storage;

/// <summary>
/// Counts kept beside the records they count: one row <c>!count</c> in each records partition. A record's change and
/// its counter delta commit in one entity-group transaction guarded by both ETags, so counts never drift, even when a
/// write is retried after a crash; reading all counts is one point read per partition instead of a scan of every
/// record. Record keys must sort after <c>!count</c> (anything starting with a letter, digit, '-', '.', '_' or ':').
/// </summary>
public sealed class PartitionCounters(TableClient table)
{
    private const string RowKey = "!count";

    /// <summary>Filter clause that leaves the counter rows out of a scan of records.</summary>
    public static string ExcludeCounters => $"RowKey ne '{RowKey}'";

    /// <summary>Adds initial counts (before any record is changed); safe to repeat with the same counts.</summary>
    public async Task SeedAsync(IEnumerable<(string PartitionKey, string Counter)> records, CancellationToken ct)
    {
        var rows = new Dictionary<string, TableEntity>();
        foreach (var (partition, counter) in records)
        {
            if (!rows.TryGetValue(partition, out var row)) rows[partition] = row = new TableEntity(partition, RowKey);
            row[counter] = (row.GetInt64(counter) ?? 0) + 1;
        }
        await Parallel.ForEachAsync(rows.Values, ct, async (row, token) => await table.UpsertEntityAsync(row, TableUpdateMode.Replace, token));
    }

    /// <summary>
    /// Writes <paramref name="record"/> (replace, guarded by its ETag, or insert when the ETag is empty) together with
    /// <paramref name="deltas"/> on its partition's counters. False when the record or the counters moved meanwhile: read again and retry.
    /// </summary>
    public Task<bool> TryWriteAsync(TableEntity record, IReadOnlyDictionary<string, long> deltas, CancellationToken ct) =>
        TryWriteAsync([record], deltas, ct);

    /// <summary>The same for up to 99 records of one partition in one transaction: one counter write for all of them.</summary>
    public async Task<bool> TryWriteAsync(IReadOnlyList<TableEntity> records, IReadOnlyDictionary<string, long> deltas, CancellationToken ct)
    {
        var partition = records[0].PartitionKey;
        if (records.Count > 99 || records.Any(r => r.PartitionKey != partition))
            throw new ArgumentException("One transaction takes at most 99 records of one partition.", nameof(records));
        var writes = records.Select(r => r.ETag == default
            ? new TableTransactionAction(TableTransactionActionType.Add, r)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, r, r.ETag)).ToList();
        var changes = deltas.Where(d => d.Value != 0).ToList();
        try
        {
            if (changes.Count > 0)
            {
                var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, RowKey, cancellationToken: ct);
                var counters = current.HasValue && current.Value is not null ? current.Value : new TableEntity(partition, RowKey);
                foreach (var (counter, delta) in changes) counters[counter] = (counters.GetInt64(counter) ?? 0) + delta;
                writes.Add(current.HasValue
                    ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, counters, counters.ETag)
                    : new TableTransactionAction(TableTransactionActionType.Add, counters));
            }
            await table.SubmitTransactionAsync(writes, ct);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    /// <summary>Every counter summed over the partitions: one point read each.</summary>
    public async Task<IReadOnlyDictionary<string, long>> ReadAsync(IEnumerable<string> partitions, CancellationToken ct)
    {
        var rows = await Task.WhenAll(partitions.Select(p => table.GetEntityIfExistsAsync<TableEntity>(p, RowKey, cancellationToken: ct)));
        var totals = new Dictionary<string, long>();
        foreach (var row in rows.Where(r => r.HasValue && r.Value is not null).Select(r => r.Value!))
            foreach (var (name, value) in row)
                if (value is long or int && name is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
                    totals[name] = totals.GetValueOrDefault(name) + Convert.ToInt64(value);
        return totals;
    }
}
