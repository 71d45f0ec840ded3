using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Simulator;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// Storage requests and Functions executions per device operation, counted on the wire at the storage endpoints (every
/// request by anyone: worker, task hub, triggers, timers) with the app at its default settings; the idle background
/// (task hub and trigger polling) measured first and taken out of every figure. From them: a device's day, and the
/// monthly bill of 10k, 100k and 1M devices next to IoT Hub, with the settings that move it most.
/// </summary>
internal static partial class CostBenchmark
{
    private const string Tenant = BenchFleet.Tenant;

    public static async Task RunAsync(int deviceCount)
    {
        Console.WriteLine($"# Cost per device: {deviceCount} devices, storage requests counted at the storage endpoints, default settings");
        var prices = new PriceList();
        MeasuredOperations first;
        await using (var host = await BenchHost.StartAsync(tapped: true))
            first = await MeasureDeviceOperationsAsync(host, deviceCount);
        OperationCost action;
        await using (var host = await BenchHost.StartAsync(tapped: true))
            action = await MeasureActionAsync(host, first.Inbox, deviceCount);

        var costs = new MeasuredCosts(first.Poll, first.Inbox, first.Heartbeat, first.Auth, first.Telemetry, first.Inventory, first.Rollout, action,
            first.Background, first.MeanExecutionSeconds, first.CpuSecondsPerRequest);
        Print(costs, prices);
    }

    private sealed record MeasuredOperations(StorageRequests Background, OperationCost Poll, OperationCost Inbox, OperationCost Heartbeat, OperationCost Auth,
        OperationCost Telemetry, OperationCost Inventory, OperationCost Rollout, double MeanExecutionSeconds, double CpuSecondsPerRequest);

    private static async Task<MeasuredOperations> MeasureDeviceOperationsAsync(BenchHost host, int count)
    {
        // The task hub and triggers settle (queues and tables created, leases taken) before the idle app is measured.
        await Task.Delay(TimeSpan.FromSeconds(20));
        var idle = await MeasureAsync(host, () => Task.Delay(TimeSpan.FromSeconds(60)));
        var background = idle.Requests / idle.Seconds;
        Console.WriteLine($"idle app, per second: {background}");

        using var operatorHttp = OperatorClient(host);
        using var devicesHttp = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var simulation = new Simulation(new SimulationOptions { BaseUrl = host.BaseAddress, ApiKey = BenchHost.BootstrapKey, Devices = count, Prefix = "cost" });
        IReadOnlyList<FleetDeviceClient> devices = [];
        var onboarding = await PerDeviceAsync(host, background, count, "onboarding (preauthorize + first authentication)", 2,
            async () => devices = await simulation.OnboardAsync(operatorHttp, devicesHttp, "cost", default));
        var installed = new InstalledSoftware("factory", "1", Simulation.DeviceType);
        var auth = await PerDeviceAsync(host, background, count, "token renewal (authenticate)", 1, () => EachAsync(devices, d => d.AuthenticateAsync()));
        // A device's first poll after onboarding writes its last-seen time; the steady state is the polls after it.
        await EachAsync(devices, d => d.PollAsync(installed));
        var poll = await PerDeviceAsync(host, background, count, "poll, nothing due", 1, () => EachAsync(devices, d => d.PollAsync(installed)));
        var inbox = await PerDeviceAsync(host, background, count, "action inbox read, nothing new", 1, () => EachAsync(devices, d => d.GetActionsAsync()));
        var store = host.Services.GetRequiredService<DeviceStore>();
        await EachAsync(devices, d => store.RecordSeenAsync(Tenant, d.Serial, DateTimeOffset.UtcNow.AddMinutes(-10), default));
        var pollWithHeartbeat = await PerDeviceAsync(host, background, count, "poll that writes last-seen", 1, () => EachAsync(devices, d => d.PollAsync(installed)));
        var heartbeat = new OperationCost("heartbeat (last-seen write)", (pollWithHeartbeat.Storage - poll.Storage).AtLeastZero(), 0);
        var telemetry = await PerDeviceAsync(host, background, count, "telemetry batch (10 samples)", 1, () => EachAsync(devices, d => d.SendTelemetryAsync(
            Enumerable.Range(0, 10).Select(i => new TelemetrySample("temperature", DateTimeOffset.UtcNow.AddSeconds(-i), 40)))));
        var inventory = await PerDeviceAsync(host, background, count, "inventory report (3 attributes)", 1, () => EachAsync(devices, d => d.ReportInventoryAsync(
            [new("uptime_s", 1), new("free_mb", 512), new("kernel", "6.1")])));
        var (duration, cpu) = await ExecutionFiguresAsync(devices, installed);
        var rollout = await MeasureRolloutAsync(host, background, poll, devices, installed);
        return new MeasuredOperations(background, poll, inbox, heartbeat, auth, telemetry, inventory, rollout, duration, cpu);
    }

    /// <summary>
    /// A device request's duration (mean of polls and inbox reads sent one at a time) and the worker's and host's CPU per
    /// request (4,000 of them, 16 at a time).
    /// </summary>
    private static async Task<(double Seconds, double CpuSeconds)> ExecutionFiguresAsync(IReadOnlyList<FleetDeviceClient> devices, InstalledSoftware installed)
    {
        var durations = new List<double>();
        for (var i = 0; i < 400; i++)
        {
            var device = devices[i % devices.Count];
            var clock = Stopwatch.StartNew();
            if (i % 2 == 0) await device.PollAsync(installed); else await device.GetActionsAsync();
            durations.Add(clock.Elapsed.TotalSeconds);
        }
        const int loaded = 4000;
        var cpu = ProcessCpu.Start();
        var wall = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, loaded), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var device = devices[i % devices.Count];
            if (i % 2 == 0) await device.PollAsync(installed); else await device.GetActionsAsync();
        });
        var cores = cpu.CoresUsed();
        var cpuSeconds = (cores["worker"] + cores["host"]) * wall.Elapsed.TotalSeconds / loaded;
        Console.WriteLine($"device request: {durations.Average() * 1000:F1} ms mean one at a time; {cpuSeconds * 1000:F2} ms of worker + host CPU each " +
                          $"at {loaded / wall.Elapsed.TotalSeconds:F0}/s ({ProcessCpu.Describe(cores)})");
        return (durations.Average(), cpuSeconds);
    }

    /// <summary>One deployment to every device, each polling every 2 s until offered, then downloading and reporting; its idle polls are taken out.</summary>
    private static async Task<OperationCost> MeasureRolloutAsync(BenchHost host, StorageRequests background, OperationCost poll, IReadOnlyList<FleetDeviceClient> devices,
        InstalledSoftware installed)
    {
        using var operatorHttp = OperatorClient(host);
        var artifact = await UploadArtifactAsync(operatorHttp);
        long idlePolls = 0, deviceRequests = 0;
        string? id = null;
        var measured = await MeasureAsync(host, async () =>
        {
            var created = await operatorHttp.PostAsJsonAsync("/api/v1/deployments", new { name = "cost", artifactId = artifact, target = new { devices = devices.Select(d => d.Serial) } });
            created.EnsureSuccessStatusCode();
            id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            await EachAsync(devices, async d =>
            {
                while (true)
                {
                    var offer = (await d.PollAsync(installed)).Deployment;
                    Interlocked.Increment(ref deviceRequests);
                    if (offer is null) { Interlocked.Increment(ref idlePolls); await Task.Delay(2000); continue; }
                    await d.ReportStatusAsync(offer.DeploymentId, "downloading");
                    await d.DownloadAsync(offer.Artifact, Stream.Null);
                    await d.ReportStatusAsync(offer.DeploymentId, "installing");
                    await d.ReportStatusAsync(offer.DeploymentId, "success");
                    Interlocked.Add(ref deviceRequests, 3);
                    return;
                }
            });
            while ((await operatorHttp.GetFromJsonAsync<JsonElement>($"/api/v1/deployments/{id}")).GetProperty("status").GetString() != "finished")
                await Task.Delay(500);
        });
        var durable = await DurableExecutionsAsync(host);
        var storage = (measured.Requests - background * measured.Seconds - poll.Storage * idlePolls) / devices.Count;
        var executions = (deviceRequests - idlePolls + 1 + durable) / (double)devices.Count;
        Console.WriteLine($"rollout: {measured.Seconds:F0} s, {idlePolls} polls before the offer taken out, {durable} orchestrator steps + activities");
        return Report(new OperationCost("one rollout (offer, download, 3 reports, orchestration)", storage.AtLeastZero(), executions));
    }

    /// <summary>One action to a fresh fleet on a fresh host (its orchestration counted alone); each device reads its inbox every second until the action is there.</summary>
    private static async Task<OperationCost> MeasureActionAsync(BenchHost host, OperationCost emptyInbox, int count)
    {
        var serials = await BenchFleet.SeedAsync(host.Services, Enumerable.Range(0, count).Select(i => $"cost-action-{i:D5}").ToList(), "cost-action");
        var tokens = BenchFleet.Tokens(host.Services, serials);
        using var operatorHttp = OperatorClient(host);
        using var devicesHttp = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var devices = serials.Zip(tokens, (serial, token) => new FleetDeviceClient(devicesHttp, "unused", serial, DeviceKey.Generate(KeyAlgorithm.Ed25519)).UseToken(token)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(20));
        var idle = await MeasureAsync(host, () => Task.Delay(TimeSpan.FromSeconds(30)));
        var background = idle.Requests / idle.Seconds;
        long emptyReads = 0, deviceRequests = 0;
        var queueBefore = host.TrafficSnapshot().GetValueOrDefault("DELETE device-actions");
        var measured = await MeasureAsync(host, async () =>
        {
            var created = await operatorHttp.PostAsJsonAsync("/api/v1/actions", new { type = "reboot", group = "cost-action" });
            created.EnsureSuccessStatusCode();
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            await EachAsync(devices, async d =>
            {
                while (true)
                {
                    var pending = await d.GetActionsAsync();
                    Interlocked.Increment(ref deviceRequests);
                    if (pending.Count == 0) { Interlocked.Increment(ref emptyReads); await Task.Delay(1000); continue; }
                    await d.ReportActionResultAsync(pending[0].ActionId, succeeded: true);
                    Interlocked.Increment(ref deviceRequests);
                    return;
                }
            });
            while ((await operatorHttp.GetFromJsonAsync<JsonElement>($"/api/v1/actions/{id}")).GetProperty("status").GetString() != "succeeded")
                await Task.Delay(500);
        });
        var deliveries = host.TrafficSnapshot().GetValueOrDefault("DELETE device-actions") - queueBefore;
        var durable = await DurableExecutionsAsync(host);
        var storage = (measured.Requests - background * measured.Seconds - emptyInbox.Storage * emptyReads) / count;
        var executions = (deviceRequests - emptyReads + 1 + deliveries + durable) / (double)count;
        Console.WriteLine($"action: {measured.Seconds:F0} s, {emptyReads} empty inbox reads taken out, {deliveries} queue deliveries, {durable} orchestrator steps + activities");
        return Report(new OperationCost("one device action (delivery, inbox read, result, orchestration)", storage.AtLeastZero(), executions));
    }

    private static void Print(MeasuredCosts costs, PriceList prices)
    {
        var defaults = new DeviceDay("defaults");
        var (day, executions) = costs.PerDeviceDay(defaults);
        Console.WriteLine();
        Console.WriteLine($"## A device's day at the defaults (poll 300 s ± 20 %, last-seen written at most every 300 s = {defaults.HeartbeatShare():P0} of polls, " +
                          $"1 token renewal, 24 telemetry batches, 1 inventory report, action inbox read only when X-Inbox-Seq says)");
        Console.WriteLine($"storage requests {day}; device requests (Functions executions) {executions:F0}");
        Console.WriteLine($"the app's own background, per day: {costs.BackgroundPerSecond * 86_400}");
        Console.WriteLine();
        Console.WriteLine($"## Monthly, default settings, one rollout and one device action per device a month; prices: {prices}");
        Console.WriteLine("| devices | storage requests | Functions executions | GB-s (instances busy) | storage $ | executions $ | GB-s $ | total $ | per device $ | device messages/day | IoT Hub S1 | IoT Hub S2 |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var fleet in new[] { 10_000, 100_000, 1_000_000 })
        {
            var m = CostModel.Month(costs, defaults, fleet, prices);
            var hub = m.IotHub.ToDictionary(h => h.Tier);
            Console.WriteLine($"| {fleet:N0} | {m.Storage.Total / 1e6:N1} M | {m.Executions / 1e6:N1} M | {m.GbSeconds / 1e6:N2} M ({m.GbSeconds / prices.InstanceMemoryGb / (CostModel.DaysPerMonth * 86_400):N1}) | {m.StorageUsd:N0} | {m.ExecutionsUsd:N0} | " +
                              $"{m.GbSecondsUsd:N0} | {m.TotalUsd:N0} | {m.TotalUsd / fleet:N4} | {m.DeviceMessagesPerDay / 1e6:N1} M | " +
                              $"{hub["S1"].Units} units ${hub["S1"].Usd:N0} | {hub["S2"].Units} units ${hub["S2"].Usd:N0} |");
        }
        Console.WriteLine();
        Console.WriteLine("## What moves the bill: 100,000 devices a month");
        Console.WriteLine("| setting | storage requests | Functions executions | total $ | vs defaults |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        var baseline = CostModel.Month(costs, defaults, 100_000, prices).TotalUsd;
        foreach (var variant in new[]
                 {
                     defaults, defaults with { Name = "poll every 60 s", PollSeconds = 60 }, defaults with { Name = "poll every 900 s", PollSeconds = 900 },
                     defaults with { Name = "poll every 3600 s", PollSeconds = 3600 }, defaults with { Name = "last-seen written on every poll (no coalescing)", HeartbeatSeconds = 0 },
                     defaults with { Name = "poll every 60 s, last-seen on every poll", PollSeconds = 60, HeartbeatSeconds = 0 },
                     defaults with { Name = "telemetry unbatched, one sample a minute", TelemetryBatchesPerDay = 1440 },
                     defaults with { Name = "inbox read with every poll (a client that ignores X-Inbox-Seq)", ReadsInboxEveryPoll = true },
                 })
        {
            var m = CostModel.Month(costs, variant, 100_000, prices);
            Console.WriteLine($"| {variant.Name} | {m.Storage.Total / 1e6:N1} M | {m.Executions / 1e6:N1} M | {m.TotalUsd:N0} | {m.TotalUsd / baseline:P0} |");
        }
    }

    private static async Task<OperationCost> PerDeviceAsync(BenchHost host, StorageRequests background, int count, string name, double executionsEach, Func<Task> operation)
    {
        var measured = await MeasureAsync(host, operation);
        return Report(new OperationCost(name, ((measured.Requests - background * measured.Seconds) / count).AtLeastZero(), executionsEach));
    }

    private static OperationCost Report(OperationCost cost)
    {
        Console.WriteLine($"{cost.Name,-62} storage requests per device {cost.Storage}  executions {cost.Executions:F2}");
        return cost;
    }

    private static async Task<(StorageRequests Requests, double Seconds)> MeasureAsync(BenchHost host, Func<Task> operation)
    {
        var before = StorageRequests.From(host.RequestsByService());
        var clock = Stopwatch.StartNew();
        await operation();
        var seconds = clock.Elapsed.TotalSeconds;
        return (StorageRequests.From(host.RequestsByService()) - before, seconds);
    }

    private static Task EachAsync(IReadOnlyList<FleetDeviceClient> devices, Func<FleetDeviceClient, Task> operation) =>
        Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (d, _) => await operation(d));

    /// <summary>Orchestrator steps plus activities the host ran, from the line it prints when it stops (the host is stopped by this).</summary>
    private static async Task<long> DurableExecutionsAsync(BenchHost host)
    {
        await host.Host.StopAsync();
        var steps = DurableLine().Match(host.Host.RecentOutput);
        return steps.Success ? long.Parse(steps.Groups[1].Value) + long.Parse(steps.Groups[2].Value) : 0;
    }

    [GeneratedRegex(@"stopped after (\d+) orchestrator steps and (\d+) activities")]
    private static partial Regex DurableLine();

    private static HttpClient OperatorClient(BenchHost host)
    {
        var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BenchHost.BootstrapKey);
        return http;
    }

    private static async Task<string> UploadArtifactAsync(HttpClient operatorHttp)
    {
        var file = new ByteArrayContent(new byte[64 * 1024]);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var form = new MultipartFormDataContent
        {
            { new StringContent("cost-fw"), "name" }, { new StringContent("2"), "version" }, { new StringContent("firmware"), "kind" },
            { new StringContent(Simulation.DeviceType), "deviceTypesCompatible" }, { file, "file", "firmware.img" },
        };
        var uploaded = await operatorHttp.PostAsync("/api/v1/artifacts", form);
        uploaded.EnsureSuccessStatusCode();
        return (await uploaded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }
}
