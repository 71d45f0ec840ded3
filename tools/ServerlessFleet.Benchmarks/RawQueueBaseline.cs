using System.Diagnostics;
using Azure.Storage.Queues;
using ServerlessFleet.DevStorage;

namespace ServerlessFleet.Benchmarks;

/// <summary>What the storage itself does: queue messages sent, then received and deleted, with the same parallelism the dispatcher uses.</summary>
internal static class RawQueueBaseline
{
    public static async Task<double> RunAsync(int count)
    {
        var queue = new QueueClient(Azurite.ConnectionString, $"bench-raw-{Guid.NewGuid():n}"[..30]);
        await queue.CreateAsync();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 },
            async (i, ct) => await queue.SendMessageAsync($"message {i}", ct));
        var sent = clock.Elapsed;
        Report.Line("raw queue: send", count, sent);

        clock.Restart();
        var received = 0;
        while (received < count)
        {
            var batch = (await queue.ReceiveMessagesAsync(32)).Value;
            await Task.WhenAll(batch.Select(m => queue.DeleteMessageAsync(m.MessageId, m.PopReceipt)));
            received += batch.Length;
        }
        var drained = clock.Elapsed;
        Report.Line("raw queue: receive + delete", count, drained);
        var roundTrip = count / (sent + drained).TotalSeconds;
        Console.WriteLine($"{"raw queue: send + receive + delete",-48} {count,7} messages = {roundTrip,9:F1}/s (baseline)");
        await queue.DeleteAsync();
        return roundTrip;
    }
}
