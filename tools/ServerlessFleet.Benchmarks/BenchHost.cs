using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// The real worker under the local Functions host on a free loopback port, against Azurite; <see cref="Services"/> is the
/// app's service graph built in this process, for seeding and baselines on the same storage.
/// </summary>
internal sealed class BenchHost : IAsyncDisposable
{
    public const string BootstrapKey = "benchmark-bootstrap-key-0123456789";
    private readonly LocalHostProcess _host;
    private readonly ServiceProvider _services;

    private BenchHost(LocalHostProcess host, ServiceProvider services)
    {
        _host = host;
        _services = services;
    }

    public IServiceProvider Services => _services;
    public Uri BaseAddress => _host.BaseAddress;

    public static async Task<BenchHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["Fleet:BootstrapKey"] = BootstrapKey,
            ["Fleet:PageTokenKey"] = "benchmark",
            ["Logging:LogLevel:Default"] = "Warning",
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
            // The simulated fleet shares one loopback address and polls far more often than real devices.
            ["Fleet:RateLimits:ApiKeyPerMinute"] = "10000000",
            ["Fleet:RateLimits:DevicePerMinute"] = "10000000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        var host = await LocalHostProcess.StartAsync(LocalHostProcess.BuildOutput("functions/ServerlessFleet.Functions", "ServerlessFleet.Functions"), all);
        return new BenchHost(host, FleetApp.BuildServices(all));
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _services.DisposeAsync();
    }
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
