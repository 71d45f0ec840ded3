using ServerlessFleet.DevStorage;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Harness;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>
/// The real worker, run by the local Functions host on a free loopback port and talking to Azurite: requests go over
/// loopback through the host to the worker, queue and timer functions are driven by the host. <see cref="Services"/> is
/// the app's own service graph built in the test process, for reaching storage as the app does.
/// </summary>
public sealed class FleetServer : IAsyncDisposable
{
    public const string BootstrapKey = "test-bootstrap-key-0123456789abcdef";
    public const long ArtifactLimitBytes = 40L * 1024 * 1024;
    // One server for the whole run: every worker sharing a storage account must know the same functions (as in production).
    private static readonly Lazy<Task<FleetServer>> SharedInstance = new(() => StartAsync(new Dictionary<string, string?>
    {
        ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
        ["Fleet:MaxArtifactBytes"] = ArtifactLimitBytes.ToString(),
        // Every anonymous request of the run comes from one loopback address.
        ["Fleet:RateLimits:AnonymousPerMinute"] = "100000",
        // Tests poll as fast as they can while waiting for an outcome; the per-device budget is tested with its own setting.
        ["Fleet:RateLimits:DevicePerMinute"] = "100000",
        ["Fleet:DeploymentCheckSeconds"] = "1",
        // A delivery lost to a busy machine (a message poisoned by storage timeouts) comes again soon.
        ["Fleet:ActionRedeliverSeconds"] = "10",
        // A command's answer waits for the orchestration as long as a busy machine needs (within the client's timeout).
        ["Fleet:CommandWaitSeconds"] = "90",
        // Programs that poll as devices do (the README's walkthrough) wait what the server says.
        ["Fleet:DevicePollSeconds"] = "5",
        // An idle task hub is polled at least every second, so waits in tests stay short.
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:maxQueuePollingInterval"] = "00:00:01",
        // A task-hub message taken by a partition the host then lost (its lease renewal timed out while the emulator was
        // saturated) comes back after this instead of the default 5 minutes, so a busy run does not park an orchestration.
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:controlQueueVisibilityTimeout"] = "00:00:30",
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:workItemQueueVisibilityTimeout"] = "00:00:30",
    }));

    private readonly LocalFleet _fleet;

    private FleetServer(LocalFleet fleet) => _fleet = fleet;

    public Uri BaseAddress => _fleet.BaseAddress;
    public IServiceProvider Services => _fleet.Services;
    public LocalHostProcess Host => _fleet.Host;
    /// <summary>The tap the worker's table traffic passes: counts it, and can fail requests as an overloaded service would.</summary>
    public StorageTap Tables => _fleet.Taps[TappedService.Table];
    /// <summary>The tap the host's and worker's queue traffic passes.</summary>
    public StorageTap Queues => _fleet.Taps[TappedService.Queue];

    /// <summary>The server the tests share; each test class works in its own tenant. Failed messages are retried at once.</summary>
    public static Task<FleetServer> Shared => SharedInstance.Value;

    /// <param name="storage">The storage account; the shared Azurite unless a test needs one no other worker listens to.</param>
    /// <param name="beforeStart">Sees the table tap before the host starts, to fail what the worker does first.</param>
    public static async Task<FleetServer> StartAsync(IDictionary<string, string?>? settings = null, string? storage = null, Action<StorageTap>? beforeStart = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Fleet:BootstrapKey"] = BootstrapKey,
            ["Fleet:DefaultTenant"] = "default",
            ["Fleet:PageTokenKey"] = "test-page-token-key",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        // The worker's table traffic passes a tap, so tests can count what a request costs in storage; queue traffic (the
        // host's listeners, the task hub) passes one too, so tests can see a message being settled.
        return new FleetServer(await LocalFleet.StartAsync(new LocalFleetOptions(all, storage, [TappedService.Table, TappedService.Queue],
            BeforeStart: taps => beforeStart?.Invoke(taps[TappedService.Table]),
            Services: (taps, services) => services.AddSingleton(taps[TappedService.Table].Counter))));
    }

    public HttpClient Client(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    /// <summary>A fresh tenant with its owner key, so tests never see each other's data.</summary>
    public async Task<TestTenant> CreateTenantAsync(string prefix = "t")
    {
        var tenantId = $"{prefix}-{Guid.NewGuid():n}"[..Math.Min(40, prefix.Length + 33)];
        using var bootstrap = Client(BootstrapKey);
        var response = await bootstrap.PostAsJsonAsync("/api/v1/tenants", new { tenantId });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return new TestTenant(this, tenantId, body.GetProperty("ownerKey").GetProperty("secret").GetString()!);
    }

    public ValueTask DisposeAsync() => _fleet.DisposeAsync();
}

public sealed record TestTenant(FleetServer Server, string TenantId, string OwnerKey)
{
    public async Task<string> TenantTokenAsync()
    {
        using var owner = OwnerClient();
        return (await (await owner.GetAsync("/api/v1/tenants/current")).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tenantToken").GetString()!;
    }

    public HttpClient OwnerClient() => Server.Client(OwnerKey);

    public async Task<string> CreateKeyAsync(params string[] scopes)
    {
        using var owner = OwnerClient();
        var response = await owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "test", scopes });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
    }
}
