using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Simulator;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// The steady state of a fleet with nothing due: devices polling at a fixed aggregate rate (open loop), stepped up to
/// the highest rate held with p99 under 100 ms, next to the same search over raw Azurite point reads of the same device
/// rows in the same run (the floor: a poll with nothing due is one point read behind HTTP and authentication), the two
/// searches taking turns step by step. Then the poll search again while a simulated rollout to another fleet runs on
/// the same host.
/// </summary>
internal static class SteadyStateBenchmark
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StepGap = TimeSpan.FromSeconds(2);
    // What a step may take past its schedule: its last requests finishing, the storage probe stopping.
    private static readonly TimeSpan StepOverrun = TimeSpan.FromSeconds(5);

    /// <param name="rolloutPollSeconds">What the host tells devices with nothing due (half of it, at most 60 s, while a deployment is theirs); 0 keeps the product's defaults (300 s and 60 s).</param>
    public static async Task RunAsync(int deviceCount, int rolloutDevices, int seconds, int rolloutPollSeconds)
    {
        var measured = TimeSpan.FromSeconds(seconds);
        Console.WriteLine($"# Steady state: {deviceCount} devices polling with nothing due, {seconds} s per step; rollout fleet {rolloutDevices}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores ({CpuModel()}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GB, " +
                          $"{RuntimeInformation.OSDescription}; Azurite, local host, worker and load generator share it");
        ThreadPool.SetMinThreads(256, 256);
        // The rollout fleet polls as told; intervals shorter than the defaults let a rollout run its phases within the
        // minutes a search takes, at the price of more requests. Seeded devices poll at the benchmark's rate.
        await using var host = await BenchHost.StartAsync(rolloutPollSeconds <= 0 ? null : new Dictionary<string, string?>
        {
            ["Fleet:DevicePollSeconds"] = $"{rolloutPollSeconds}", ["Fleet:DeploymentPollSeconds"] = $"{Math.Min(60, Math.Max(1, rolloutPollSeconds / 2))}",
        });
        var services = host.Services;
        var serials = await BenchFleet.SeedAsync(services, Enumerable.Range(0, deviceCount).Select(i => $"steady-{i:D6}").ToList(), "steady");
        var tokens = BenchFleet.Tokens(services, serials);
        var table = services.GetRequiredService<FleetStorage>().Table(DeviceKeys.TableName);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30),
        };

        // Seeding's writes settle in the emulator before anything is measured.
        await Task.Delay(TimeSpan.FromSeconds(15));
        Task ReadAsync(int i) => table.GetEntityAsync<TableEntity>(DeviceKeys.Partition(BenchFleet.Tenant, serials[i % serials.Count]), DeviceKeys.DeviceRow);
        Task ProbeAsync() => ReadAsync(Random.Shared.Next(serials.Count));
        Task<LoadStep> StepAsync(double rate, Func<int, Task> request) => StepWithProbeAsync(rate, measured, request, ProbeAsync, host);
        Func<int, Task> poll = i => BenchFleet.PollNothingDueAsync(http, tokens[i % tokens.Count]);
        // Every device's first poll writes its last-seen time; the searches measure the steady state after it (reads
        // only), and the heartbeats that fall due later are taken between steps.
        var heartbeats = new HeartbeatRounds(tokens, poll);
        await heartbeats.RunAsync();
        var longestStep = StepGap + Warmup + measured + StepOverrun;
        async Task<LoadStep> PollStepAsync(double rate)
        {
            await heartbeats.BeforeStepAsync(longestStep);
            return await StepAsync(rate, poll);
        }
        // The two searches take turns, a raw step and then a poll step, so that the machine's drift weighs on both alike.
        var turns = new TakingTurns(2);
        async Task<LoadStep?> SearchAsync(int side, string what, string tag, double start, Func<double, Task<LoadStep>> step)
        {
            try { return (await OpenLoopLoad.FindHighestAsync(what, start, turns.InTurn(side, step), tag)).Highest; }
            finally { turns.Finish(side); }
        }
        var rawSearch = SearchAsync(0, "raw Azurite point reads of device rows", "raw ", 200, rate => StepAsync(rate, ReadAsync));
        var idleSearch = SearchAsync(1, "device polls, nothing due (HTTP 204)", "poll", 100, PollStepAsync);
        var (raw, idle) = (await rawSearch, await idleSearch);
        Summarise("device polls, nothing due", idle, raw);
        if (rolloutDevices <= 0) return;

        var simulation = new Simulation(new SimulationOptions
        {
            BaseUrl = host.BaseAddress, ApiKey = BenchHost.BootstrapKey, Devices = rolloutDevices, PollInterval = TimeSpan.FromSeconds(60),
            Rollout = true, Phases = 3, DownloadArtifacts = false, Duration = TimeSpan.FromHours(1), Prefix = "rollout", Seed = 18,
        });
        using var stop = new CancellationTokenSource();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var running = simulation.RunAsync(stop.Token);
        if (await Task.WhenAny(simulation.Started, running) == running && running.IsFaulted)
        {
            Console.WriteLine($"the rollout fleet failed: {running.Exception!.InnerException!.Message}; the host's last output:\n{host.Host.RecentOutput}");
            await running;
        }
        var deployment = await simulation.Started;
        Console.WriteLine($"rollout fleet onboarded (preauthorize + authenticate) in {clock.Elapsed.TotalSeconds:F0} s; deployment {deployment}, 3 phases; " +
                          $"its devices poll as the server says ({(rolloutPollSeconds <= 0 ? "the defaults" : $"{rolloutPollSeconds} s")} ± 20 %, sooner while a deployment is theirs) and report each install");
        using var admin = new HttpClient { BaseAddress = host.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BenchHost.BootstrapKey);
        async Task<string> RolloutAsync()
        {
            var state = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/deployments/{deployment}");
            var stats = state.GetProperty("statistics");
            return $"{state.GetProperty("status").GetString()}, {stats.GetProperty("success").GetInt32()} installed, {stats.GetProperty("pending").GetInt32()} pending";
        }
        // Into the rollout proper: past the fleet's first poll burst, with the first phase installing. A first install
        // comes within a few of the fleet's poll intervals; none by the deadline means the rollout is stuck, not slow.
        var firstInstallBy = TimeSpan.FromSeconds(Math.Max(300, 3 * (rolloutPollSeconds <= 0 ? 60 : rolloutPollSeconds)));
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while ((await admin.GetFromJsonAsync<JsonElement>($"/api/v1/deployments/{deployment}")).GetProperty("statistics").GetProperty("success").GetInt32() == 0)
        {
            if (waiting.Elapsed > firstInstallBy)
            {
                await stop.CancelAsync();
                await running.ContinueWith(_ => { });
                throw new TimeoutException($"No device of the rollout installed within {firstInstallBy.TotalSeconds:F0} s; the rollout: {await RolloutAsync()}. " +
                                           $"The host's last output:\n{host.Host.RecentOutput}");
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        Console.WriteLine($"rollout at {clock.Elapsed.TotalSeconds:F0} s: {await RolloutAsync()}");
        var (busy, _) = await OpenLoopLoad.FindHighestAsync($"device polls, nothing due, while the {rolloutDevices}-device rollout runs", 50, async rate =>
        {
            var step = await PollStepAsync(rate);
            Console.WriteLine($"    rollout at {clock.Elapsed.TotalSeconds:F0} s: {await RolloutAsync()}");
            return step;
        });
        await stop.CancelAsync();
        var summary = await running;
        foreach (var route in summary.Routes)
            Console.WriteLine($"  rollout fleet {route.Route,-52} {route.Requests,7} requests  p50 {route.P50,7:F1}  p99 {route.P99,8:F1} ms");
        Summarise($"device polls, nothing due, {rolloutDevices}-device rollout running", busy, raw);
    }

    private static async Task<LoadStep> StepWithProbeAsync(double rate, TimeSpan measured, Func<int, Task> request, Func<Task> storageRead, BenchHost host)
    {
        // A moment first, so that the last step's backlog (this search's or, taking turns, the other's) does not count
        // against this one.
        await Task.Delay(StepGap);
        var cpu = ProcessCpu.Start();
        var probe = StorageProbe.Start(storageRead);
        var load = await OpenLoopLoad.RunAsync(rate, Warmup, measured, request);
        var step = load with { StorageWorstMs = await probe.StopAsync() };
        // An overloaded host can end (out of file handles and memory with a connection per waiting request); the steps
        // after it would measure refusals, so the search ends here with what the host said last.
        if (host.Host.Exited.IsCompleted)
            throw new BenchmarkFailedException($"The local host exited (code {await host.Host.Exited}) during the {rate:F0}/s step: {step}. " +
                                               $"Its last output:\n{string.Join('\n', host.Host.RecentOutput.Split('\n').TakeLast(20))}");
        Console.WriteLine($"    cores used: {ProcessCpu.Describe(cpu.CoresUsed())}");
        return step;
    }

    private static void Summarise(string what, LoadStep? platform, LoadStep? raw)
    {
        if (platform is null || raw is null)
        {
            Console.WriteLine($"{what}: no rate held (see the steps above)");
            return;
        }
        Console.WriteLine($"{what}: {platform.TargetRate:F0}/s held (p50 {platform.P50:F1}, p95 {platform.P95:F1}, p99 {platform.P99:F1} ms) = " +
                          $"{platform.TargetRate / raw.TargetRate:P0} of raw point reads held in the same run ({raw.TargetRate:F0}/s, p99 {raw.P99:F1} ms)");
    }

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
}
