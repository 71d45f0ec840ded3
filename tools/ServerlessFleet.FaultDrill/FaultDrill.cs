using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Simulator;

namespace ServerlessFleet.FaultDrill;

/// <summary>
/// A simulated rollout and bulk action on a platform of its own (Azurite on disk, the local host and its worker), struck
/// in turn by (a) the worker killed, (b) the host killed and started again, (c) storage stopped gracefully and started
/// again on the same data. Each fault strikes once the devices have been given answers since the last recovery, so work
/// is in flight; afterwards <see cref="DrillAudit"/> holds the platform to every answer the devices were given.
/// </summary>
public sealed partial class FaultDrill(FaultDrillOptions options)
{
    private const string BootstrapKey = "fault-drill-bootstrap-key-0123456789";
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Fleet:BootstrapKey"] = BootstrapKey,
        ["Fleet:PageTokenKey"] = "fault-drill-page-token-key",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Fleet:RateLimits:AnonymousPerMinute"] = "100000",
        ["Fleet:RateLimits:DevicePerMinute"] = "100000",
        ["Fleet:DeploymentCheckSeconds"] = "1",
        // Deliveries the dead host had leased stay invisible for their lease; the action sends them again before that.
        ["Fleet:ActionRedeliverSeconds"] = "10",
        ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:01",
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:maxQueuePollingInterval"] = "00:00:01",
        // A task-hub message the dead worker or host had taken comes back after this (5 minutes by default).
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:controlQueueVisibilityTimeout"] = "00:00:10",
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:workItemQueueVisibilityTimeout"] = "00:00:10",
    };

    private readonly List<FaultFigures> _faults = [];
    private AzuriteOnDisk _storage = null!;
    private LocalHostProcess _host = null!;
    private Simulation _simulation = null!;

    public async Task<DrillReport> RunAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var data = options.DataFolder ?? Path.Combine(Path.GetTempPath(), $"fault-drill-{Guid.NewGuid():n}");
        _storage = AzuriteOnDisk.Start(data);
        try
        {
            _host = await StartHostAsync(port: 0);
            var ownerKey = await CreateTenantAsync(ct);
            _simulation = new Simulation(new SimulationOptions
            {
                BaseUrl = _host.BaseAddress, ApiKey = ownerKey, Devices = options.Devices, PollInterval = options.PollInterval, HonourPollAfter = false,
                Rollout = true, Phases = options.Phases, SoakMinutes = options.Soak.TotalMinutes, DownloadArtifacts = true, Prefix = "drill",
                Action = "reboot", ActionBatchSize = options.ActionBatchSize, ActionBatchDelaySeconds = options.ActionBatchDelay.TotalSeconds,
                Duration = options.Patience * 4,
            });
            var run = _simulation.RunAsync(ct);
            await Task.WhenAny(_simulation.Started, run);
            options.Say($"{options.Devices} devices onboarded; rollout and bulk action started.");

            await StrikeAsync("worker killed", KillWorkerAsync, ct);
            await StrikeAsync("host killed and started again", RestartHostAsync, ct);
            await StrikeAsync($"storage stopped for {options.StorageOutage.TotalSeconds:0} s", StorageOutageAsync, ct);

            var summary = await run;
            options.Say($"Rollout {summary.DeploymentStatus}, action {summary.ActionStatus}; auditing what the devices were told.");
            using var api = OperatorClient(ownerKey);
            var (recorded, lost, duplicates) = await new DrillAudit(api).RunAsync(_simulation.Acknowledged.All, summary.DeploymentId!, summary.ActionId!, ct);
            var acknowledged = _simulation.Acknowledged.All.GroupBy(a => a.Kind).OrderBy(g => g.Key).ToDictionary(g => Label(g.Key), g => g.Count());
            return new DrillReport(options.Devices, clock.Elapsed.TotalSeconds, _faults, summary.RequestsRetried, summary.LongestOutageSeconds,
                summary.DeploymentStatus ?? "", summary.ActionStatus ?? "", acknowledged, recorded, lost, duplicates);
        }
        finally
        {
            if (_host is not null) await _host.StopAsync();
            await _storage.DisposeAsync();
            if (options.DataFolder is null) Directory.Delete(data, recursive: true);
        }
    }

    private static string Label(AcknowledgedKind kind) => kind switch
    {
        AcknowledgedKind.Offered => "offers",
        AcknowledgedKind.StatusReported => "status reports",
        AcknowledgedKind.Delivered => "commands found in inboxes",
        _ => "confirmations",
    };

    /// <summary>Waits for answers given since the last recovery, strikes, and waits until the API answers healthy again.</summary>
    private async Task StrikeAsync(string fault, Func<CancellationToken, Task> strike, CancellationToken ct)
    {
        var before = _simulation.Acknowledged.Count;
        await WaitForAsync(() => Task.FromResult(_simulation.Acknowledged.Count > before), "the devices to be given answers", ct);
        var acknowledged = _simulation.Acknowledged.Count;
        options.Say($"{fault} ({acknowledged} answers given so far)…");
        var outage = Stopwatch.StartNew();
        await strike(ct);
        await WaitForAsync(HealthyAsync, "the API to answer healthy", ct);
        _faults.Add(new FaultFigures(fault, outage.Elapsed.TotalSeconds, acknowledged));
        options.Say($"  back after {outage.Elapsed.TotalSeconds:0.0} s.");
    }

    private async Task KillWorkerAsync(CancellationToken ct)
    {
        var workers = WorkerPid().Matches(_host.RecentOutput);
        Process.GetProcessById(int.Parse(workers[^1].Groups[1].Value)).Kill(entireProcessTree: true);
        // The host starts another worker with back-off; the outage lasts until that one serves.
        await WaitForAsync(() => Task.FromResult(WorkerPid().Matches(_host.RecentOutput).Count > workers.Count), "the host to start the worker again", ct);
    }

    private async Task RestartHostAsync(CancellationToken ct)
    {
        var port = _host.BaseAddress.Port;
        _host.Kill();
        await _host.DisposeAsync();
        // The devices know the platform at one address: the new host serves where the old one did.
        _host = await StartHostAsync(port);
    }

    private async Task StorageOutageAsync(CancellationToken ct)
    {
        await _storage.StopAsync();
        await Task.Delay(options.StorageOutage, ct);
        _storage.StartAgain();
    }

    private Task<LocalHostProcess> StartHostAsync(int port) =>
        LocalHostProcess.StartAsync(LocalHostProcess.BuildOutput("functions/ServerlessFleet.Functions", "ServerlessFleet.Functions"),
            new Dictionary<string, string?>(Settings) { ["AzureWebJobsStorage"] = _storage.ConnectionString }, port: port);

    private async Task<string> CreateTenantAsync(CancellationToken ct)
    {
        using var bootstrap = OperatorClient(BootstrapKey);
        using var created = await bootstrap.PostAsJsonAsync("/api/v1/tenants", new { tenantId = "drill" }, ct);
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("ownerKey").GetProperty("secret").GetString()!;
    }

    private HttpClient OperatorClient(string key)
    {
        var client = new HttpClient { BaseAddress = _host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private async Task<bool> HealthyAsync()
    {
        using var probe = new HttpClient { BaseAddress = _host.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var response = await probe.GetAsync("/api/health");
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private async Task WaitForAsync(Func<Task<bool>> condition, string what, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > options.Patience) throw new TimeoutException($"Waited {options.Patience.TotalSeconds:0} s for {what}.");
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
    }

    [GeneratedRegex(@"Started worker process (\d+)")]
    private static partial Regex WorkerPid();
}
