using Microsoft.Extensions.Options;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Shared.Tenants;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// Creates the declared tables, queues and containers (idempotent) and the default tenant before requests are served.
/// Storage that does not answer yet (an emulator still starting, an account briefly unavailable at a cold start) is
/// waited for, so the worker does not crash and restart in a loop; anything else (a wrong key, a refused request) fails
/// the start at once.
/// </summary>
public sealed class StorageStartup(FleetStorage storage, StorageLayout layout, FunctionCatalog catalog, TenantStore tenants,
    IOptions<FleetOptions> options, ILogger<StorageStartup> logger) : IHostedService
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(10);

    /// <summary>Everything the app stores in: the feature tables and containers, and each trigger queue with its poison queue.</summary>
    public static StorageLayout Declared(StorageLayout layout, FunctionCatalog catalog)
    {
        foreach (var queue in catalog.Functions.Where(f => f.Kind == TriggerKind.Queue).Select(f => f.QueueName!))
            layout.AddQueues(queue, queue + "-poison");
        return layout;
    }

    public async Task StartAsync(CancellationToken ct)
    {
        var declared = Declared(layout, catalog);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var pause = TimeSpan.FromSeconds(1);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await storage.EnsureCreatedAsync(declared, ct);
                await tenants.EnsureExistsAsync(options.Value.DefaultTenant, ct);
                if (attempt > 1) logger.LogWarning("Storage answered after {Seconds:0.0} s; starting.", waited.Elapsed.TotalSeconds);
                return;
            }
            catch (Exception e) when (StorageOutage.Is(e) && waited.Elapsed + pause < Patience)
            {
                logger.LogWarning("Storage does not answer yet (attempt {Attempt}: {Reason}); trying again in {Pause:0} s.", attempt, e.Message.Split('\n')[0], pause.TotalSeconds);
                await Task.Delay(pause, ct);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
            }
        }
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}

