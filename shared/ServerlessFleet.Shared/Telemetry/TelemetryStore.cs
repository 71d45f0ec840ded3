using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Telemetry;

public sealed record StoredSample(string Serial, string Type, DateTimeOffset Timestamp, double? Value, IReadOnlyDictionary<string, double>? Values);

/// <summary>
/// <c>telemetry</c> table, one partition per device (<c>{tenant}:{serial}</c>). History rows
/// <c>h|{type}|{inverted ticks}|{hash}</c> read newest first per type; <c>latest|{type}</c> rows hold the newest
/// sample of each type. Ingestion reads only the device's few latest rows and writes in entity-group batches;
/// row keys derive from the sample, so a re-sent batch rewrites the same rows.
/// </summary>
public sealed class TelemetryStore(FleetStorage storage)
{
    public const string TableName = "telemetry";
    private const string HistoryPrefix = "h|";
    private const string LatestPrefix = "latest|";
    private TableClient Table => storage.Table(TableName);

    public static string Partition(string tenantId, string serial) => $"{tenantId}:{serial}";

    public async Task IngestAsync(string tenantId, string serial, IReadOnlyList<TelemetrySample> samples, CancellationToken ct)
    {
        var partition = Partition(tenantId, serial);
        var latest = await ReadLatestRowsAsync(partition, ct);
        var actions = samples.Select(s => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, HistoryKey(s), serial, s))).ToList();
        foreach (var newest in samples.GroupBy(s => s.Type!).Select(g => g.MaxBy(s => s.Timestamp)!))
        {
            if (latest.TryGetValue(newest.Type!, out var current) && current >= newest.Timestamp) continue;
            actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, LatestPrefix + newest.Type, serial, newest)));
        }
        // A transaction holds at most 100 operations, each row once.
        foreach (var chunk in actions.DistinctBy(a => a.Entity.RowKey).Chunk(100)) await Table.SubmitTransactionAsync(chunk, ct);
    }

    public Task<ListPage<StoredSample>> HistoryAsync(string tenantId, string serial, string type, DateTimeOffset? since, DateTimeOffset? until,
        PageRequest page, CancellationToken ct)
    {
        var prefix = $"{HistoryPrefix}{type}|";
        var clauses = new List<string?> { TableFilters.PartitionEquals(Partition(tenantId, serial)), TableFilters.RowKeyStartsWith(prefix) };
        if (until is { } u) clauses.Add($"RowKey ge {TableFilters.Quote(prefix + Inverted(u))}");
        if (since is { } s) clauses.Add($"RowKey lt {TableFilters.Quote(prefix + Inverted(s) + "|~")}");
        return TablePager.ReadAsync<TableEntity, StoredSample>(Table, TableFilters.And(clauses.ToArray()), page, FromEntity, ct);
    }

    public async Task<IReadOnlyList<StoredSample>> LatestAsync(string tenantId, string serial, CancellationToken ct)
    {
        var filter = TableFilters.And(TableFilters.PartitionEquals(Partition(tenantId, serial)), TableFilters.RowKeyStartsWith(LatestPrefix));
        var samples = new List<StoredSample>();
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct)) samples.Add(FromEntity(row));
        return samples;
    }

    /// <summary>Deletes history samples older than <paramref name="cutoff"/>; latest rows stay. Returns the number removed.</summary>
    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        var filter = TableFilters.And(TableFilters.RowKeyStartsWith(HistoryPrefix), $"SampleTime lt datetime'{cutoff.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffffffZ}'");
        var expired = new List<(string, string)>();
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey"], cancellationToken: ct))
            expired.Add((row.PartitionKey, row.RowKey));
        foreach (var partition in expired.GroupBy(r => r.Item1))
            foreach (var chunk in partition.Chunk(100))
                await Table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(r.Item1, r.Item2), ETag.All)), ct);
        return expired.Count;
    }

    private async Task<Dictionary<string, DateTimeOffset>> ReadLatestRowsAsync(string partition, CancellationToken ct)
    {
        var filter = TableFilters.And(TableFilters.PartitionEquals(partition), TableFilters.RowKeyStartsWith(LatestPrefix));
        var latest = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, select: ["RowKey", "SampleTime"], cancellationToken: ct))
            latest[row.RowKey[LatestPrefix.Length..]] = row.GetDateTimeOffset("SampleTime") ?? DateTimeOffset.MinValue;
        return latest;
    }

    private static string HistoryKey(TelemetrySample s)
    {
        var content = JsonSerializer.Serialize(new { s.Value, s.Values });
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))[..8];
        return $"{HistoryPrefix}{s.Type}|{Inverted(s.Timestamp!.Value)}|{hash}";
    }

    private static string Inverted(DateTimeOffset t) =>
        (DateTimeOffset.MaxValue.UtcTicks - t.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);

    private static TableEntity ToEntity(string partition, string rowKey, string serial, TelemetrySample s) => new(partition, rowKey)
    {
        ["Serial"] = serial,
        ["Type"] = s.Type,
        ["SampleTime"] = s.Timestamp,
        ["Value"] = s.Value,
        ["Values"] = s.Values is null ? null : JsonSerializer.Serialize(s.Values),
    };

    private static StoredSample FromEntity(TableEntity e) => new(
        e.GetString("Serial")!, e.GetString("Type")!, e.GetDateTimeOffset("SampleTime") ?? DateTimeOffset.MinValue, e.GetDouble("Value"),
        e.GetString("Values") is { } v ? JsonSerializer.Deserialize<Dictionary<string, double>>(v) : null);
}
