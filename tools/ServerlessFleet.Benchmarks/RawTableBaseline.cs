using System.Diagnostics;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.DevStorage;

namespace ServerlessFleet.Benchmarks;

/// <summary>Rates of plain Table operations, measured on a fresh table or on a table as a run left it (the emulator's cost per operation grows with the table).</summary>
internal static class RawTableBaseline
{
    public sealed record Rates(double PointReads, double Merges, double Transactions);

    public static async Task<double> InsertsIntoEmptyTableAsync(int count)
    {
        var table = new TableClient(Azurite.ConnectionString, $"benchraw{Guid.NewGuid():n}"[..20]);
        await table.CreateAsync();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 },
            async (i, ct) => await table.AddEntityAsync(new TableEntity($"p{i}", "r") { ["Value"] = i }, ct));
        Report.Line("raw table: point inserts (empty table)", count, clock.Elapsed);
        await table.DeleteAsync();
        return count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// On <paramref name="table"/> as it is: point reads of existing rows, ETag-guarded merges of them, and two-entity
    /// transactions (a merge of the row plus an insert beside it in its partition), each on up to 2,000 rows.
    /// </summary>
    public static async Task<Rates> OnTableAsync(TableClient table, IReadOnlyList<(string PartitionKey, string RowKey)> rows)
    {
        var sample = rows.Take(2000).ToList();
        var size = $"({rows.Count} rows stored)";
        var etags = new Dictionary<string, ETag>();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (row, ct) =>
        {
            var read = await table.GetEntityAsync<TableEntity>(row.PartitionKey, row.RowKey, cancellationToken: ct);
            lock (etags) etags[row.PartitionKey] = read.Value.ETag;
        });
        var reads = Measure($"raw table: point reads {size}", sample.Count, clock.Elapsed);

        clock.Restart();
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (row, ct) =>
        {
            var written = await table.UpdateEntityAsync(new TableEntity(row.PartitionKey, row.RowKey) { ["Bench"] = 1 }, etags[row.PartitionKey], TableUpdateMode.Merge, ct);
            lock (etags) etags[row.PartitionKey] = written.Headers.ETag!.Value;
        });
        var merges = Measure($"raw table: ETag-guarded merges {size}", sample.Count, clock.Elapsed);

        clock.Restart();
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (row, ct) =>
            await table.SubmitTransactionAsync([
                new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity(row.PartitionKey, row.RowKey) { ["Bench"] = 2 }, etags[row.PartitionKey]),
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(row.PartitionKey, "~bench") { ["Bench"] = 2 }),
            ], ct));
        var transactions = Measure($"raw table: 2-entity transactions {size}", sample.Count, clock.Elapsed);
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (row, ct) =>
            await table.DeleteEntityAsync(row.PartitionKey, "~bench", ETag.All, ct));
        return new Rates(reads, merges, transactions);
    }

    private static double Measure(string what, int count, TimeSpan elapsed)
    {
        Report.Line(what, count, elapsed);
        return count / elapsed.TotalSeconds;
    }
}
