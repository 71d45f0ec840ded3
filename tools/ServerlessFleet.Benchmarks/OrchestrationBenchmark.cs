using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// Orchestrations started and completed per second (each: one activity, then done) and activities per second
/// (one fan-out), through the queue functions and the local dispatcher, next to the raw queue baseline.
/// </summary>
internal static class OrchestrationBenchmark
{
    public static async Task RunAsync(int instances, int activities)
    {
        Console.WriteLine($"# Orchestration runtime on Azurite: {instances} instances, fan-out of {activities}");
        // One activity-backed orchestration costs about 4 queue messages (wake, activity, result wake, done).
        var baseline = await RawQueueBaseline.RunAsync(Math.Max(1000, instances * 4));

        await using var host = await BenchHost.StartAsync(services => services.Configure<OrchestrationRegistry>(r => r
            .AddOrchestrator<int, int>("BenchOne", async (ctx, n) => await ctx.CallActivityAsync<int>("BenchDouble", n))
            .AddOrchestrator<int, long>("BenchFanOut", async (ctx, n) =>
                (await Task.WhenAll(Enumerable.Range(0, n).Select(i => ctx.CallActivityAsync<int>("BenchDouble", i)))).Sum(x => (long)x))
            .AddActivity<int, int>("BenchDouble", (n, _) => Task.FromResult(n * 2))));
        var client = host.Services.GetRequiredService<OrchestrationClient>();

        var clock = Stopwatch.StartNew();
        var ids = await Task.WhenAll(Enumerable.Range(0, instances).Select(i => client.StartAsync("BenchOne", i)));
        foreach (var id in ids) await client.WaitForCompletionAsync(id, TimeSpan.FromMinutes(10));
        Report.Line("orchestrations started + completed", instances, clock.Elapsed, baseline / 4);

        clock.Restart();
        var fanOut = await client.StartAsync("BenchFanOut", activities);
        var status = await client.WaitForCompletionAsync(fanOut, TimeSpan.FromMinutes(10));
        if (status.RuntimeStatus != OrchestrationRuntimeStatus.Completed) throw new InvalidOperationException($"Fan-out ended {status.RuntimeStatus}");
        // An activity costs 2 messages (work item + wake).
        Report.Line("activities (one fan-out)", activities, clock.Elapsed, baseline / 2);
        Console.WriteLine("Ratios compare against the raw queue baseline per message needed by one unit of work.");
    }
}
