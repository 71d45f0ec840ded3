using ServerlessFleet.Functions.Middleware;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using ServerlessFleet.Functions.Actions;
using ServerlessFleet.Functions.Artifacts;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Deployments;
using ServerlessFleet.Functions.DeviceAuth;
using ServerlessFleet.Functions.Devices;
using ServerlessFleet.Functions.Groups;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Health;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Functions.OpenApi;
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

namespace ServerlessFleet.Functions;

/// <summary>Composes the isolated worker: services, the HTTP middleware chain and the storage it declares.</summary>
public static class FleetApp
{
    public const string StorageConnectionSetting = "AzureWebJobsStorage";
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;
    /// <summary>What the worker's server accepts at all (the host's own limit): the app applies the per-function limits itself.</summary>
    public const long ServerMaxRequestBodyBytes = 110L * 1024 * 1024;

    public static FunctionsApplicationBuilder Configure(FunctionsApplicationBuilder builder)
    {
        builder.ConfigureFunctionsWebApplication();
        // Request logs of the worker's internal HTTP server repeat what the host logs for each invocation.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Order is the order a request meets them; each runs for HTTP functions only.
        builder.UseWhen<RequestIds>(HttpFunctionMiddleware.IsHttp);
        builder.UseWhen<ErrorHandling>(HttpFunctionMiddleware.IsHttp);
        builder.UseWhen<RequestBodyLimits>(HttpFunctionMiddleware.IsHttp);
        builder.UseWhen<ApiKeyAuthentication>(HttpFunctionMiddleware.IsHttp);
        builder.UseWhen<DeviceReportBackoff>(HttpFunctionMiddleware.IsHttp);
        builder.UseWhen<RateLimits>(HttpFunctionMiddleware.IsHttp);
        builder.UseWhen<IdempotencyKeys>(HttpFunctionMiddleware.IsHttp);
        builder.Services.Configure<KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = ServerMaxRequestBodyBytes);
        // Orchestration inputs, outputs, custom status and activity payloads in the API's JSON (camelCase), as operators read them.
        builder.Services.Configure<WorkerOptions>(o => o.Serializer = new Azure.Core.Serialization.JsonObjectSerializer(
            new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)));
        AddServices(builder.Services, builder.Configuration);
        builder.Services.AddHostedService<StorageStartup>();
        return builder;
    }

    /// <summary>
    /// The app's service graph outside the worker, from configuration-style settings (<c>Fleet:BootstrapKey</c>): tools and
    /// tests reach storage exactly as the functions do.
    /// </summary>
    public static ServiceProvider BuildServices(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        AddServices(services, configuration);
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>Everything the functions use.</summary>
    public static IServiceCollection AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FleetOptions>().Bind(configuration.GetSection(FleetOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FleetOptions>, FleetOptionsValidation>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase, allowIntegerValues: false));
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
            // {"a":1,"a":2} is ambiguous: refused as bad input (400) rather than half-read, in typed and free-form JSON alike.
            o.SerializerOptions.AllowDuplicateProperties = false;
            UniqueKeysJson.AddTo(o.SerializerOptions);
        });
        services.AddFleetOpenApi();
        var limits = configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        services.AddSingleton(RateLimits.CreateLimiter(limits));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<StorageRequestCounter>();
        services.AddSingleton<StorageHealth>();
        services.AddSingleton(sp => new FleetStorage(StorageConnection.From(configuration), sp.GetRequiredService<StorageRequestCounter>()));
        services.AddSingleton(StorageLayout());
        services.AddSingleton(sp => new PageTokenCodec(PageTokenKey(sp.GetRequiredService<IOptions<FleetOptions>>().Value, sp.GetRequiredService<ILoggerFactory>())));
        services.AddSingleton<PageRequestParser>();
        services.AddSingleton<Paging>();
        services.AddSingleton<TenantStore>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<ApiKeyAdministration>();
        services.AddSingleton<TenantOnboarding>();
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddHttpContextAccessor();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<Auditor>();
        services.AddSingleton<DeviceStore>();
        services.AddSingleton<DeviceTargets>();
        services.AddSingleton<GroupStore>();
        services.AddSingleton<DeviceTimeline>();
        services.AddSingleton<GroupReleases>();
        services.AddSingleton<GroupMover>();
        services.AddSingleton<GroupAdministration>();
        services.AddOptions<DeviceTokenOptions>().Bind(configuration.GetSection(DeviceTokenOptions.Section))
            .PostConfigure<IOptions<FleetOptions>>((tokens, fleet) =>
            {
                // Without configured keys, development setups derive one from the bootstrap key; production sets its own (Key Vault).
                if (tokens.SigningKeys.Count == 0 && !string.IsNullOrEmpty(fleet.Value.BootstrapKey))
                    tokens.SigningKeys.Add(Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(fleet.Value.BootstrapKey), "device-token-key"u8)));
            })
            .Validate(tokens => !tokens.SigningKeys.Any(SecretSettings.IsUnresolvedReference), SecretSettings.Unresolved("Fleet:DeviceTokens:SigningKeys"))
            .ValidateOnStart();
        services.AddSingleton<DeviceTokens>();
        services.AddSingleton<DeviceAdmission>();
        services.AddSingleton<AdmissionControl>();
        services.AddSingleton<DeviceAuthenticator>();
        services.AddSingleton<DeviceSignIn>();
        services.AddSingleton<DeviceInventory>();
        services.AddSingleton<DeviceRegistry>();
        services.AddSingleton<IDeviceDecommissionHook, ForgetAuthSetsOnDecommission>();
        services.AddSingleton<TelemetryStore>();
        services.AddSingleton<DeviceTelemetry>();
        services.AddSingleton<ArtifactStore>();
        services.AddSingleton<IdempotencyStore>();
        services.AddDeviceActions();
        services.AddDeployments();
        services.AddSingleton<BlobLinks>();
        services.AddSingleton<ArtifactBlobs>();
        services.AddSingleton<ArtifactUploads>();
        services.AddSingleton<ArtifactRemoval>();
        services.AddSingleton<FunctionCatalog>();
        services.AddSingleton<FunctionHandlers>();
        return services;
    }

    /// <summary>The tables, queues and containers the app declares (infra/storage-layout.json is this, written out).</summary>
    public static string StorageLayoutJson()
    {
        var layout = StorageStartup.Declared(StorageLayout(), new FunctionCatalog());
        return System.Text.Json.JsonSerializer.Serialize(new
        {
            tables = layout.Tables.Order(StringComparer.Ordinal),
            queues = layout.Queues.Order(StringComparer.Ordinal),
            containers = layout.Containers.Order(StringComparer.Ordinal),
        }, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    private static StorageLayout StorageLayout() => new StorageLayout()
        .AddTables(TenantStore.TableName, ApiKeyStore.TableName, AuditLog.TableName,
            DeviceKeys.TableName, GroupStore.TableName, DeviceAdmission.TokenTable, TelemetryStore.TableName, ArtifactStore.TableName, IdempotencyStore.TableName,
            ActionStore.ActionsTable, ActionStore.RecordsTable, DeploymentStore.DeploymentsTable, DeploymentStore.RecordsTable, DeviceTimeline.TableName)
        .AddContainers(ArtifactBlobs.Container, ArtifactBlobs.StagingContainer, ActionService.ScreenshotContainer, DeploymentLogs.Container);

    private static byte[] PageTokenKey(FleetOptions options, ILoggerFactory logs)
    {
        if (!string.IsNullOrEmpty(options.PageTokenKey)) return SHA256.HashData(Encoding.UTF8.GetBytes(options.PageTokenKey));
        if (!string.IsNullOrEmpty(options.BootstrapKey))
            return HMACSHA256.HashData(Encoding.UTF8.GetBytes(options.BootstrapKey), "page-token-key"u8);
        logs.CreateLogger(typeof(FleetApp)).LogWarning("Fleet:PageTokenKey is not set; page tokens are valid on this instance only.");
        return RandomNumberGenerator.GetBytes(32);
    }
}
