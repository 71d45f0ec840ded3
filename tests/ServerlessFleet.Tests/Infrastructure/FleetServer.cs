using ServerlessFleet.DevStorage;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Functions;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>
/// The real custom handler on Kestrel at a free loopback port, talking to Azurite, with the local trigger
/// dispatcher running: the same code path the Functions host drives in production.
/// </summary>
public sealed class FleetServer : IAsyncDisposable
{
    public const string BootstrapKey = "test-bootstrap-key-0123456789abcdef";
    public const long ArtifactLimitBytes = 40L * 1024 * 1024;
    // One server for the whole run: every server sharing a storage account must know the same functions and
    // orchestrators (as in production), so the probe functions and test orchestrations live here too.
    private static readonly Lazy<Task<FleetServer>> SharedInstance = new(() => StartAsync(
        new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
            ["Fleet:MaxArtifactBytes"] = ArtifactLimitBytes.ToString(),
            // Every anonymous request of the run comes from one loopback address.
            ["Fleet:RateLimits:AnonymousPerMinute"] = "100000",
            ["Fleet:DeploymentCheckSeconds"] = "1",
        },
        ProbeServer.Map,
        Orchestration.TestOrchestrations.Register));

    private readonly WebApplication _app;

    private FleetServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }
    public IServiceProvider Services => _app.Services;

    /// <summary>The server the tests share; each test class works in its own tenant. Failed messages are retried at once.</summary>
    public static Task<FleetServer> Shared => SharedInstance.Value;

    public static async Task<FleetServer> StartAsync(IDictionary<string, string?>? settings = null, Action<WebApplication>? mapAdditional = null,
        Action<IServiceCollection>? services = null)
    {
        var app = FleetApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = Azurite.ConnectionString,
                ["Fleet:BootstrapKey"] = BootstrapKey,
                ["Fleet:DefaultTenant"] = "default",
                ["Fleet:PageTokenKey"] = "test-page-token-key",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
            services?.Invoke(builder.Services);
        }, mapAdditional);
        await app.StartAsync();
        return new FleetServer(app, new Uri(app.Urls.First()));
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

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
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
