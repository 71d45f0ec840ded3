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
/// Telemetry, one partition per device (<c>{tenant}:{serial}</c>). History rows <c>h|{type}|{inverted ticks}|{hash}</c>
/// live in one table per ISO week of the sample (<c>telemetryw{year}{week}</c>) and read newest first per type;
/// <c>latest|{type}</c> rows in table <c>telemetry</c> hold the newest sample of each type. Ingestion reads only the
/// device's few latest rows and writes in entity-group batches; row keys derive from the sample, so a re-sent batch
/// rewrites the same rows. Retention drops whole week tables, so its cost is one request per week that expires,
/// whatever the size of the fleet.
/// </summary>
public sealed class TelemetryStore(FleetStorage storage)
{
    public const string TableName = "telemetry";
    public const string WeekTablePrefix = "telemetryw";
    private const string HistoryPrefix = "h|";
    private const string LatestPrefix = "latest|";
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task>> _created = new();
    private TableClient Table => storage.Table(TableName);

    /// <summary>The history table of the ISO week (Monday to Sunday, UTC) a sample falls in.</summary>
    public static string WeekTable(DateTimeOffset time) =>
        $"{WeekTablePrefix}{ISOWeek.GetYear(time.UtcDateTime):D4}{ISOWeek.GetWeekOfYear(time.UtcDateTime):D2}";

    /// <summary>When the week of a history table ends (exclusive), or null for a name that is not one.</summary>
    public static DateTimeOffset? WeekEnd(string table) =>
        table.Length == WeekTablePrefix.Length + 6 && table.StartsWith(WeekTablePrefix, StringComparison.Ordinal)
        && int.TryParse(table.AsSpan(WeekTablePrefix.Length, 4), out var year) && int.TryParse(table.AsSpan(WeekTablePrefix.Length + 4, 2), out var week)
        && week is >= 1 and <= 53 && week <= ISOWeek.GetWeeksInYear(year)
            ? new DateTimeOffset(ISOWeek.ToDateTime(year, week, DayOfWeek.Monday).AddDays(7), TimeSpan.Zero)
            : null;

    private Task EnsureTableAsync(string name, CancellationToken ct) =>
        _created.GetOrAdd(name, n => new Lazy<Task>(() => storage.Table(n).CreateIfNotExistsAsync(CancellationToken.None))).Value.WaitAsync(ct);

    /// <summary>The history tables that exist, newest week first.</summary>
    private async Task<List<(string Name, DateTimeOffset End)>> WeekTablesAsync(CancellationToken ct)
    {
        var tables = new List<(string, DateTimeOffset)>();
        await foreach (var table in storage.Tables.QueryAsync(TableFilters.And($"TableName ge {TableFilters.Quote(WeekTablePrefix)}",
                           $"TableName lt {TableFilters.Quote(WeekTablePrefix + "~")}"), cancellationToken: ct))
            if (WeekEnd(table.Name) is { } end) tables.Add((table.Name, end));
        return tables.OrderByDescending(t => t.Item2).ToList();
    }

    public static string Partition(string tenantId, string serial) => $"{tenantId}:{serial}";

    public async Task IngestAsync(string tenantId, string serial, IReadOnlyList<TelemetrySample> samples, CancellationToken ct)
    {
        var partition = Partition(tenantId, serial);
        var latest = await ReadLatestRowsAsync(partition, ct);
        var latestRows = new List<TableTransactionAction>();
        foreach (var newest in samples.GroupBy(s => s.Type!).Select(g => g.MaxBy(s => s.Timestamp)!))
        {
            if (latest.TryGetValue(newest.Type!, out var current) && current >= newest.Timestamp) continue;
            latestRows.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, LatestPrefix + newest.Type, serial, newest)));
        }
        // History first: a latest row never points at a sample that is not stored. A transaction holds at most 100 rows, each once.
        foreach (var week in samples.GroupBy(s => WeekTable(s.Timestamp!.Value)))
        {
            await EnsureTableAsync(week.Key, ct);
            var rows = week.Select(s => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, HistoryKey(s), serial, s)));
            foreach (var chunk in rows.DistinctBy(a => a.Entity.RowKey).Chunk(100))
            {
                try
                {
                    await storage.Table(week.Key).SubmitTransactionAsync(chunk, ct);
                }
                catch (RequestFailedException e) when (e.ErrorCode == "TableNotFound")
                {
                    // Dropped since this instance created it (retention on another instance): create it again.
                    _created.TryRemove(week.Key, out _);
                    await EnsureTableAsync(week.Key, ct);
                    await storage.Table(week.Key).SubmitTransactionAsync(chunk, ct);
                }
            }
        }
        foreach (var chunk in latestRows.Chunk(100)) await Table.SubmitTransactionAsync(chunk, ct);
    }

    /// <summary>
    /// One page of a device's samples of one type, newest first, across the week tables that overlap [since, until].
    /// The page token is the week table and that table's own continuation.
    /// </summary>
    public async Task<ListPage<StoredSample>> HistoryAsync(string tenantId, string serial, string type, DateTimeOffset? since, DateTimeOffset? until,
        PageRequest page, CancellationToken ct)
    {
        var prefix = $"{HistoryPrefix}{type}|";
        var clauses = new List<string?> { TableFilters.PartitionEquals(Partition(tenantId, serial)), TableFilters.RowKeyStartsWith(prefix) };
        if (until is { } u) clauses.Add($"RowKey ge {TableFilters.Quote(prefix + Inverted(u))}");
        if (since is { } s) clauses.Add($"RowKey lt {TableFilters.Quote(prefix + Inverted(s) + "|~")}");
        var filter = TableFilters.And(clauses.ToArray());
        var weeks = (await WeekTablesAsync(ct))
            .Where(w => (since is null || w.End > since) && (until is null || w.End.AddDays(-7) <= until)).Select(w => w.Name).ToList();
        var (table, continuation) = page.Start?.Split('|', 2) is [var t, var c] ? (t, c.Length > 0 ? c : null) : (weeks.FirstOrDefault(), null);
        var items = new List<StoredSample>(page.Limit);
        var index = table is null ? -1 : weeks.IndexOf(table);
        while (index >= 0 && index < weeks.Count && items.Count < page.Limit)
        {
            var remaining = page.Limit - items.Count;
            Azure.Page<TableEntity>? segment = null;
            await foreach (var p in storage.Table(weeks[index]).QueryAsync<TableEntity>(filter, maxPerPage: remaining, cancellationToken: ct)
                               .AsPages(continuation, remaining).WithCancellation(ct))
            {
                segment = p;
                break;
            }
            items.AddRange((segment?.Values ?? []).Take(remaining).Select(FromEntity));
            continuation = segment?.ContinuationToken;
            if (continuation is null) index++;
        }
        var next = index >= 0 && index < weeks.Count && (continuation is not null || items.Count == page.Limit) ? $"{weeks[index]}|{continuation}" : null;
        return new ListPage<StoredSample>(items, next is null ? null : page.After(next), page.Back());
    }

    public async Task<IReadOnlyList<StoredSample>> LatestAsync(string tenantId, string serial, CancellationToken ct)
    {
        var filter = TableFilters.And(TableFilters.PartitionEquals(Partition(tenantId, serial)), TableFilters.RowKeyStartsWith(LatestPrefix));
        var samples = new List<StoredSample>();
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct)) samples.Add(FromEntity(row));
        return samples;
    }

    /// <summary>
    /// Drops the week tables whose whole week lies before <paramref name="cutoff"/> (samples live between the retention
    /// and the retention plus a week); latest rows stay. One request per week dropped. Returns the tables dropped.
    /// </summary>
    public async Task<IReadOnlyList<string>> DropWeeksBeforeAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        var expired = (await WeekTablesAsync(ct)).Where(w => w.End <= cutoff).Select(w => w.Name).ToList();
        foreach (var table in expired)
        {
            await storage.Table(table).DeleteAsync(ct);
            _created.TryRemove(table, out _);
        }
        return expired;
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
