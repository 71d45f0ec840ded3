using ServerlessFleet.DevStorage;
using ServerlessFleet.Harness;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// The real worker under the local Functions host on a free loopback port, against Azurite; <see cref="Services"/> is the
/// app's service graph built in this process, for seeding and baselines on the same storage.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    public const string BootstrapKey = "benchmark-bootstrap-key-0123456789";
    private readonly LocalFleet _fleet;

    private BenchHost(LocalFleet fleet)
    {
        _fleet = fleet;
        TrafficByService = fleet.Taps.ToDictionary(t => t.Key.ToString().ToLowerInvariant(), t => t.Value.Counter);
    }

    public IServiceProvider Services => _fleet.Services;
    public Uri BaseAddress => _fleet.BaseAddress;
    public LocalHostProcess Host => _fleet.Host;
    /// <summary>Every storage request of the run (worker, task hub, this process) by service (table, queue, blob) when started tapped; empty otherwise.</summary>
    public IReadOnlyDictionary<string, StorageRequestCounter> TrafficByService { get; }
    public bool Tapped => TrafficByService.Count > 0;

    /// <summary>The counts of all services together, keyed as <see cref="StorageRequestCounter"/> keys them.</summary>
    public IReadOnlyDictionary<string, long> TrafficSnapshot() =>
        TrafficByService.Values.SelectMany(c => c.Snapshot()).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));

    /// <summary>Requests sent so far to each service (a table transaction counts once).</summary>
    public IReadOnlyDictionary<string, long> RequestsByService() =>
        TrafficByService.ToDictionary(s => s.Key, s => s.Value.Snapshot().Where(p => IsRequestKey(p.Key)).Sum(p => p.Value));

    /// <summary><c>METHOD resource</c>; not the partition, query and batch breakdowns recorded beside it.</summary>
    private static bool IsRequestKey(string key) => key.Split(' ') is [var method, _] && method is not ("BATCH" or "QUERY");

    /// <param name="tapped">
    /// Storage reached through taps that count every request, by everyone: the raw baselines then pass the same hop as
    /// the app, so their ratio stays fair.
    /// </param>
    public static async Task<BenchHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, bool tapped = false)
    {
        var all = new Dictionary<string, string?>
        {
            ["Fleet:BootstrapKey"] = BootstrapKey,
            ["Fleet:PageTokenKey"] = "benchmark",
            ["Logging:LogLevel:Default"] = "Warning",
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
            // The simulated fleet shares one loopback address and polls far more often than real devices.
            ["Fleet:RateLimits:ApiKeyPerMinute"] = "10000000",
            ["Fleet:RateLimits:DevicePerMinute"] = "10000000",
            ["Fleet:RateLimits:AnonymousPerMinute"] = "10000000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        return new BenchHost(await LocalFleet.StartAsync(new LocalFleetOptions(all,
            Tapped: tapped ? [TappedService.Table, TappedService.Queue, TappedService.Blob] : [], InProcessThroughTaps: true)));
    }

    public ValueTask DisposeAsync() => _fleet.DisposeAsync();
}

internal static class Report
{
    public static void Line(string what, int count, TimeSpan elapsed, double? baselinePerSecond = null, string baseline = "raw queue send+receive+delete")
    {
        var perSecond = count / elapsed.TotalSeconds;
        var ratio = baselinePerSecond is { } b ? $"  ({perSecond / b:P1} of {baseline})" : "";
        Console.WriteLine($"{what,-48} {count,7} in {elapsed.TotalSeconds,7:F2} s = {perSecond,9:F1}/s{ratio}");
    }
}
