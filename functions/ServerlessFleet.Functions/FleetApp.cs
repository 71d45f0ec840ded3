using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Actions;
using ServerlessFleet.Functions.Artifacts;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Deployments;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.DeviceAuth;
using ServerlessFleet.Functions.Devices;
using ServerlessFleet.Functions.Groups;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Health;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Functions.OpenApi;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Functions.Telemetry;
using ServerlessFleet.Functions.Tenants;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Groups;
using ServerlessFleet.Shared.Idempotency;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Shared.Telemetry;
using ServerlessFleet.Shared.Tenants;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions;

/// <summary>Composes the custom handler: services, middleware and every feature's functions.</summary>
public static class FleetApp
{
    public const string StorageConnectionSetting = "AzureWebJobsStorage";
    /// <summary>Set by the Functions host when it launches a custom handler; the port the handler must listen on.</summary>
    public const string CustomHandlerPortSetting = "FUNCTIONS_CUSTOMHANDLER_PORT";
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    /// <param name="mapAdditional">Extra functions (tests use it for probe functions); they join the catalog like any other.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? mapAdditional = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var hostPort = builder.Configuration[CustomHandlerPortSetting];
        if (!string.IsNullOrEmpty(hostPort)) builder.WebHost.UseUrls($"http://127.0.0.1:{hostPort}");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = DefaultMaxRequestBodyBytes);
        configure?.Invoke(builder);
        AddServices(builder.Services, builder.Configuration, underFunctionsHost: !string.IsNullOrEmpty(hostPort));

        var app = builder.Build();
        app.UseMiddleware<RequestIds>();
        app.UseMiddleware<ErrorHandling>();
        app.UseStatusCodePages(async context =>
            await ErrorResponses.WriteAsync(context.HttpContext, ErrorCategories.FromStatusCode(context.HttpContext.Response.StatusCode),
                ErrorResponses.DefaultMessage(context.HttpContext.Response.StatusCode)));
        app.UseRouting();
        app.UseMiddleware<ApiKeyAuthentication>();
        app.UseRateLimiter();
        app.UseMiddleware<IdempotencyKeys>();
        MapFunctions(app);
        mapAdditional?.Invoke(app);
        app.Services.GetRequiredService<FunctionCatalog>().Attach(app);
        return app;
    }

    private static void MapFunctions(WebApplication app)
    {
        app.MapHealthApi();
        app.MapFleetOpenApi();
        app.MapTenantsApi();
        app.MapApiKeysApi();
        app.MapOrchestrationFunctions();
        app.MapOrchestrationsApi();
        app.MapDevicesApi();
        app.MapGroupsApi();
        app.MapAuditApi();
        app.MapDeviceAuthApi();
        app.MapDeviceInventoryApi();
        app.MapTelemetryApi();
        app.MapArtifactsApi();
        app.MapActionsApi();
        app.MapDeploymentsApi();
        app.MapDeviceDeploymentsApi();
    }

    private static void AddServices(IServiceCollection services, IConfiguration configuration, bool underFunctionsHost)
    {
        services.AddOptions<FleetOptions>().Bind(configuration.GetSection(FleetOptions.Section))
            .Validate(o => !o.Validate().Any(), "Invalid Fleet settings").ValidateOnStart();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase, allowIntegerValues: false));
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddFleetOpenApi();
        services.AddFleetRateLimits(configuration);

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<StorageRequestCounter>();
        services.AddSingleton(sp => new FleetStorage(StorageConnection.From(configuration), sp.GetRequiredService<StorageRequestCounter>()));
        services.AddSingleton(StorageLayout());
        services.AddSingleton(sp => new PageTokenCodec(PageTokenKey(sp.GetRequiredService<IOptions<FleetOptions>>().Value, sp.GetRequiredService<ILoggerFactory>())));
        services.AddSingleton<PageRequestParser>();
        services.AddSingleton<Paging>();
        services.AddSingleton<TenantStore>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddOrchestrationRuntime();
        services.AddHttpContextAccessor();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<Auditor>();
        services.AddSingleton<DeviceStore>();
        services.AddSingleton<DeviceTargets>();
        services.AddSingleton<GroupStore>();
        services.AddSingleton<GroupMover>();
        services.AddOptions<DeviceTokenOptions>().Bind(configuration.GetSection(DeviceTokenOptions.Section))
            .PostConfigure<IOptions<FleetOptions>>((tokens, fleet) =>
            {
                // Without configured keys, development setups derive one from the bootstrap key; production sets its own (Key Vault).
                if (tokens.SigningKeys.Count == 0 && !string.IsNullOrEmpty(fleet.Value.BootstrapKey))
                    tokens.SigningKeys.Add(Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(fleet.Value.BootstrapKey), "device-token-key"u8)));
            });
        services.AddSingleton<DeviceTokens>();
        services.AddSingleton<DeviceAdmission>();
        services.AddSingleton<DeviceAuthenticator>();
        services.AddSingleton<IDeviceDecommissionHook, ForgetAuthSetsOnDecommission>();
        services.AddSingleton<TelemetryStore>();
        services.AddSingleton<ArtifactStore>();
        services.AddSingleton<IdempotencyStore>();
        services.AddDeviceActions();
        services.AddDeployments();
        services.AddSingleton<BlobLinks>();
        services.AddSingleton<ArtifactBlobs>();

        services.AddSingleton<FunctionCatalog>();
        services.AddSingleton(_ => HostSettings.Load(configuration, Path.Combine(AppContext.BaseDirectory, HostSettings.FileName)));
        services.AddHostedService<StorageStartup>();
        var dispatcherEnabled = configuration.GetValue("Fleet:LocalDispatcher:Enabled", true);
        if (!underFunctionsHost && dispatcherEnabled) services.AddHostedService<LocalTriggerDispatcher>();
    }

    public static string StorageLayoutJson(IServiceProvider services)
    {
        var layout = StorageStartup.Declared(services.GetRequiredService<StorageLayout>(), services.GetRequiredService<FunctionCatalog>());
        return System.Text.Json.JsonSerializer.Serialize(new
        {
            tables = layout.Tables.Order(StringComparer.Ordinal),
            queues = layout.Queues.Order(StringComparer.Ordinal),
            containers = layout.Containers.Order(StringComparer.Ordinal),
        }, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    private static StorageLayout StorageLayout() => new StorageLayout()
        .AddTables(TenantStore.TableName, ApiKeyStore.TableName, OrchestrationQueues.Table, AuditLog.TableName,
            DeviceKeys.TableName, GroupStore.TableName, DeviceAdmission.TokenTable, TelemetryStore.TableName, ArtifactStore.TableName, IdempotencyStore.TableName,
            ActionStore.ActionsTable, ActionStore.RecordsTable, DeploymentStore.DeploymentsTable, DeploymentStore.RecordsTable)
        .AddContainers(ArtifactBlobs.Container, ActionService.ScreenshotContainer, DeploymentLogs.Container);

    private static byte[] PageTokenKey(FleetOptions options, ILoggerFactory logs)
    {
        if (!string.IsNullOrEmpty(options.PageTokenKey)) return SHA256.HashData(Encoding.UTF8.GetBytes(options.PageTokenKey));
        if (!string.IsNullOrEmpty(options.BootstrapKey))
            return HMACSHA256.HashData(Encoding.UTF8.GetBytes(options.BootstrapKey), "page-token-key"u8);
        logs.CreateLogger(typeof(FleetApp)).LogWarning("Fleet:PageTokenKey is not set; page tokens are valid on this instance only.");
        return RandomNumberGenerator.GetBytes(32);
    }
}

/// <summary>Creates the declared tables, queues and containers (idempotent) and the default tenant before requests are served.</summary>
internal sealed class StorageStartup(FleetStorage storage, StorageLayout layout, FunctionCatalog catalog, TenantStore tenants,
    IOptions<FleetOptions> options) : IHostedService
{
    /// <summary>Everything the app stores in: the feature tables and containers, and each trigger queue with its poison queue.</summary>
    public static StorageLayout Declared(StorageLayout layout, FunctionCatalog catalog)
    {
        foreach (var queue in catalog.Functions.Where(f => f.Kind == TriggerKind.Queue).Select(f => f.QueueName!))
            layout.AddQueues(queue, queue + "-poison");
        return layout;
    }

    public async Task StartAsync(CancellationToken ct)
    {
        await storage.EnsureCreatedAsync(Declared(layout, catalog), ct);
        await tenants.EnsureExistsAsync(options.Value.DefaultTenant, ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
