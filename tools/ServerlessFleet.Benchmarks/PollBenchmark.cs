using System.Diagnostics;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// Devices polling for a deployment when none is due (204), as fast as 32 concurrent pollers can, next to raw point
/// reads of the same device rows on the same emulator in the same run: the poll's whole cost is one point read, so the
/// ratio is the price of the HTTP path in front of it.
/// </summary>
internal static class PollBenchmark
{
    private const string Tenant = "default";

    public static async Task RunAsync(int devices, int seconds)
    {
        Console.WriteLine($"# device polls with nothing due: {devices} devices, {seconds} s");
        await using var host = await BenchHost.StartAsync();
        var services = host.Services;
        var serials = await BenchFleet.SeedAsync(services, Enumerable.Range(0, devices).Select(i => $"poll-{i:D5}").ToList(), "unassigned");
        var table = services.GetRequiredService<FleetStorage>().Table(DeviceKeys.TableName);
        var cpu = ProcessCpu.Start();
        var raw = await Measure(seconds, serials, async (serial, ct) =>
            await table.GetEntityAsync<TableEntity>(DeviceKeys.Partition(Tenant, serial), DeviceKeys.DeviceRow, cancellationToken: ct));
        Report.Line("raw table: point reads of device rows", raw.Count, raw.Elapsed);
        CpuPer("point read", cpu.CoresUsed(), raw);

        var issued = serials.Zip(BenchFleet.Tokens(services, serials)).ToDictionary(p => p.First, p => p.Second);
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        cpu = ProcessCpu.Start();
        var polls = await Measure(seconds, serials, (serial, ct) => BenchFleet.PollNothingDueAsync(http, issued[serial], ct));
        Report.Line("device polls, nothing due (HTTP 204)", polls.Count, polls.Elapsed, raw.Count / raw.Elapsed.TotalSeconds, "raw point reads");
        CpuPer("poll", cpu.CoresUsed(), polls);
    }

    /// <summary>Each process's CPU per operation: where an operation's cost goes.</summary>
    private static void CpuPer(string operation, IReadOnlyDictionary<string, double> cores, (int Count, TimeSpan Elapsed) run) =>
        Console.WriteLine($"    CPU per {operation}: " + string.Join("  ", cores.OrderByDescending(c => c.Value)
            .Select(c => $"{c.Key} {c.Value * run.Elapsed.TotalMilliseconds / run.Count:F3} ms")) + $"  (cores: {ProcessCpu.Describe(cores)})");

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
