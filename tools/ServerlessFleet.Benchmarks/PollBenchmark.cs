using System.Diagnostics;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Simulator;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// Devices polling for a deployment when none is due (204), as fast as 32 concurrent pollers can, next to raw point
/// reads of the same device rows on the same emulator in the same run: the poll's whole cost is one point read, so the
/// ratio is the price of the HTTP path in front of it.
/// </summary>
internal static class PollBenchmark
{
    private const string Tenant = "default";

    /// <summary>
    /// Each side runs unmeasured for this long first: the first seconds of a new process's request path are spent
    /// compiling it (tiered JIT), which a long-running instance pays once, not per poll.
    /// </summary>
    private const int WarmUpSeconds = 5;

    /// <summary>
    /// Raw reads and polls take turns in rounds of this length, so that a change in the machine's speed during the run
    /// (a virtual machine's neighbours) weighs on both sides alike instead of on whichever ran at the time.
    /// </summary>
    private const int RoundSeconds = 10;

    public static async Task RunAsync(int devices, int seconds)
    {
        var length = Math.Max(1, Math.Min(seconds, RoundSeconds));
        var rounds = Math.Max(1, seconds / length);
        Console.WriteLine($"# device polls with nothing due: {devices} devices, {rounds * length} s each side, in {rounds} alternating rounds");
        await using var host = await BenchHost.StartAsync();
        var services = host.Services;
        var serials = await BenchFleet.SeedAsync(services, Enumerable.Range(0, devices).Select(i => $"poll-{i:D5}").ToList(), "unassigned");
        var table = services.GetRequiredService<FleetStorage>().Table(DeviceKeys.TableName);
        var issued = serials.Zip(BenchFleet.Tokens(services, serials)).ToDictionary(p => p.First, p => p.Second);
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        var raw = new Side("raw table: point reads of device rows", "point read", async (serial, ct) =>
            await table.GetEntityAsync<TableEntity>(DeviceKeys.Partition(Tenant, serial), DeviceKeys.DeviceRow, cancellationToken: ct));
        var polls = new Side("device polls, nothing due (HTTP 204)", "poll", (serial, ct) => BenchFleet.PollNothingDueAsync(http, issued[serial], ct));

        // The warm-up polls also take every device's first poll, which writes its last-seen time, out of the figures.
        foreach (var side in new[] { raw, polls }) await Measure(WarmUpSeconds, serials, side.Operation);
        var ratios = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var rawRate = await raw.RunRoundAsync(length, serials);
            var pollRate = await polls.RunRoundAsync(length, serials);
            ratios.Add(pollRate / rawRate);
            Console.WriteLine($"  round {round + 1}: raw {rawRate,7:F1}/s, polls {pollRate,7:F1}/s = {pollRate / rawRate:P1}");
        }

        raw.Print(null);
        polls.Print(raw.PerSecond);
        if (rounds > 1)
        {
            // Each round's polls against the raw reads just before them, so a slow spell of the machine (a virtual
            // machine's neighbours) that falls on one side of one round moves one ratio, not the whole figure.
            var sorted = ratios.Order().ToList();
            Console.WriteLine($"polls per raw read, round by round: median {Measurements.Percentile(sorted, 50):P1} (from {sorted[0]:P1} to {sorted[^1]:P1} over {rounds} rounds)");
        }
    }

    /// <summary>One side of the comparison, summed over its rounds: operations, time and each process's CPU seconds.</summary>
    private sealed class Side(string title, string operationName, Func<string, CancellationToken, Task> operation)
    {
        private readonly Dictionary<string, double> _cpuSeconds = [];
        private int _count;
        private TimeSpan _elapsed;

        public Func<string, CancellationToken, Task> Operation => operation;
        public double PerSecond => _count / _elapsed.TotalSeconds;

        /// <returns>The round's rate.</returns>
        public async Task<double> RunRoundAsync(int seconds, IReadOnlyList<string> serials)
        {
            var cpu = ProcessCpu.Start();
            var (count, elapsed) = await Measure(seconds, serials, operation);
            foreach (var (process, cores) in cpu.CoresUsed())
                _cpuSeconds[process] = _cpuSeconds.GetValueOrDefault(process) + cores * elapsed.TotalSeconds;
            _count += count;
            _elapsed += elapsed;
            return count / elapsed.TotalSeconds;
        }

        /// <summary>The rate, its ratio to the baseline, and each process's CPU per operation: where an operation's cost goes.</summary>
        public void Print(double? baselinePerSecond)
        {
            Report.Line(title, _count, _elapsed, baselinePerSecond, "raw point reads");
            var cores = _cpuSeconds.ToDictionary(p => p.Key, p => p.Value / _elapsed.TotalSeconds);
            Console.WriteLine($"    CPU per {operationName}: " + string.Join("  ", _cpuSeconds.OrderByDescending(c => c.Value)
                .Select(c => $"{c.Key} {c.Value * 1000 / _count:F3} ms")) + $"  (cores: {ProcessCpu.Describe(cores)})");
        }
    }

    private static async Task<(int Count, TimeSpan Elapsed)> Measure(int seconds, IReadOnlyList<string> serials, Func<string, CancellationToken, Task> operation)
    {
        var count = 0;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async worker =>
        {
            for (var i = worker; clock.Elapsed < until; i += 32)
            {
                await operation(serials[i % serials.Count], default);
                Interlocked.Increment(ref count);
            }
        }));
        return (count, clock.Elapsed);
    }
}
