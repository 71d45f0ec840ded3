using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions;

namespace ServerlessFleet.Harness;

/// <summary>Which storage endpoints a <see cref="LocalFleet"/> sends through taps.</summary>
public enum TappedService { Table, Queue, Blob }

/// <param name="Settings">App settings in configuration form (<c>Fleet:BootstrapKey</c>), for the worker and the in-process services alike.</param>
/// <param name="Storage">The storage account; the shared Azurite unless given.</param>
/// <param name="Tapped">The endpoints whose traffic passes a tap, each with a counter of its own.</param>
/// <param name="InProcessThroughTaps">Whether this process's own services reach storage through the taps too (a baseline
/// that must pass the same hop as the app), or directly (seeding and checks that must not count as the app's traffic).</param>
/// <param name="BeforeStart">Sees the taps before the host starts, to fail what the worker does first.</param>
/// <param name="Services">Adds to the in-process service graph.</param>
public sealed record LocalFleetOptions(
    IReadOnlyDictionary<string, string?> Settings,
    string? Storage = null,
    IReadOnlyCollection<TappedService>? Tapped = null,
    bool InProcessThroughTaps = false,
    Action<IReadOnlyDictionary<TappedService, StorageTap>>? BeforeStart = null,
    Action<IReadOnlyDictionary<TappedService, StorageTap>, IServiceCollection>? Services = null);

/// <summary>
/// The app as it runs locally: the worker build under the local Functions host (a process of its own, on a free
/// loopback port) against Azurite, the storage endpoints asked for passing taps that count every request (and can fail
/// them), and the app's own service graph built in this process, for seeding and reading storage as the app does.
/// Tests and benchmarks both start the app through this one class.
/// </summary>
public sealed class LocalFleet : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private LocalFleet(LocalHostProcess host, ServiceProvider services, IReadOnlyDictionary<TappedService, StorageTap> taps)
    {
        Host = host;
        _services = services;
        Taps = taps;
    }

    public LocalHostProcess Host { get; }
    public Uri BaseAddress => Host.BaseAddress;
    public IServiceProvider Services => _services;
    public IReadOnlyDictionary<TappedService, StorageTap> Taps { get; }

    public static async Task<LocalFleet> StartAsync(LocalFleetOptions options)
    {
        var storage = options.Storage ?? Azurite.ConnectionString;
        var tapped = storage;
        var taps = new Dictionary<TappedService, StorageTap>();
        foreach (var service in options.Tapped ?? [])
        {
            var endpoint = $"{service}Endpoint";
            var tap = await StorageTap.StartAsync(StorageTap.Endpoint(storage, endpoint));
            taps[service] = tap;
            tapped = StorageTap.Tapped(tapped, tap.Address, endpoint);
        }
        options.BeforeStart?.Invoke(taps);
        var host = await LocalHostProcess.StartAsync(LocalHostProcess.BuildOutput("functions/ServerlessFleet.Functions", "ServerlessFleet.Functions"),
            new Dictionary<string, string?>(options.Settings) { ["AzureWebJobsStorage"] = tapped });
        var inProcess = new Dictionary<string, string?>(options.Settings) { ["AzureWebJobsStorage"] = options.InProcessThroughTaps ? tapped : storage };
        var services = FleetApp.BuildServices(inProcess, collection => options.Services?.Invoke(taps, collection));
        return new LocalFleet(host, services, taps);
    }

    public HttpClient Client() => new() { BaseAddress = BaseAddress };

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await _services.DisposeAsync();
        foreach (var tap in Taps.Values) await tap.DisposeAsync();
    }
}
