using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions;

namespace ServerlessFleet.Benchmarks;

/// <summary>The real handler with its local dispatcher on a free loopback port, against Azurite.</summary>
internal sealed class BenchHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchHost(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;
    public Uri BaseAddress => new(_app.Urls.First());

    public static async Task<BenchHost> StartAsync(Action<IServiceCollection> services, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var app = FleetApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = Azurite.ConnectionString,
                ["Fleet:BootstrapKey"] = "benchmark-bootstrap-key-0123456789",
                ["Fleet:PageTokenKey"] = "benchmark",
                ["Logging:LogLevel:Default"] = "Warning",
                ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
                // The simulated fleet shares one loopback address and polls far more often than real devices.
                ["Fleet:RateLimits:ApiKeyPerMinute"] = "10000000",
                ["Fleet:RateLimits:DevicePerMinute"] = "10000000",
            });
            if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
            services(builder.Services);
        });
        await app.StartAsync();
        return new BenchHost(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
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
