using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// A 3-phase deployment (10 % / 30 % / rest) to N simulated devices that poll over the device API and report
/// downloading → installing → success. Prints wall time, polls per second and status reports per second, then the
/// Table operations the run made next to what the same number of raw point reads and writes take on the same
/// emulator, measured in the same run.
/// </summary>
internal static class DeploymentBenchmark
{
    private const string Tenant = "default";

    /// <param name="counted">Storage reached through counting taps: prints the run's operations next to raw time (the hop costs some speed).</param>
    public static async Task RunAsync(int deviceCount, bool counted)
    {
        Console.WriteLine($"# 3-phase deployment to {deviceCount} simulated devices on Azurite");
        // Checking every 2 s (default 10) so that the figures show the platform's work, not the configured idle time.
        await using var host = await BenchHost.StartAsync(new Dictionary<string, string?> { ["Fleet:DeploymentCheckSeconds"] = "2" }, tapped: counted);
        var services = host.Services;
        var clock = Stopwatch.StartNew();
        var serials = await BenchFleet.SeedAsync(services, Enumerable.Range(0, deviceCount).Select(i => $"dep-{i:D6}").ToList(), "fleet");
        Report.Line("devices seeded (create + accept)", deviceCount, clock.Elapsed);
        var rates = await RawTableBaseline.OnTableAsync(services.GetRequiredService<FleetStorage>().Table(DeviceKeys.TableName),
            serials.Select(s => (DeviceKeys.Partition(Tenant, s), DeviceKeys.DeviceRow)).ToList());

        var artifact = await SeedArtifactAsync(services);
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BenchHost.BootstrapKey);
        var before = host.TrafficSnapshot();
        clock.Restart();
        var created = await http.PostAsJsonAsync("/api/v1/deployments", new
        {
            name = "benchmark",
            artifactId = artifact.Id,
            target = new { group = "fleet" },
            phases = new object[] { new { batchPercent = 10 }, new { batchPercent = 30 }, new { } },
        });
        if (created.StatusCode != HttpStatusCode.Accepted) throw new InvalidOperationException($"Create: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Report.Line("deployment created (records + counters)", deviceCount, clock.Elapsed);

        var devices = serials.Zip(BenchFleet.Tokens(services, serials), (serial, token) => (Serial: serial, Token: token)).ToList();
        var done = new HashSet<string>();
        long polls = 0, offers = 0, reports = 0;
        var status = "";
        var (lastSuccess, lastStatus) = (-1, "");
        while (status is not (DeploymentStatuses.Finished or DeploymentStatuses.Aborted))
        {
            var pending = devices.Where(d => !done.Contains(d.Serial)).ToList();
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (device, ct) =>
            {
                Interlocked.Increment(ref polls);
                using var poll = await SendAsync(http, HttpMethod.Get, "/api/device/v1/deployments/next?artifactName=fw&artifactVersion=1.0", device.Token, null, ct);
                if (poll.StatusCode == HttpStatusCode.NoContent) return;
                if (poll.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"Poll: {(int)poll.StatusCode} {await poll.Content.ReadAsStringAsync(ct)}");
                Interlocked.Increment(ref offers);
                foreach (var step in new[] { "downloading", "installing", "success" })
                {
                    using var report = await SendAsync(http, HttpMethod.Put, $"/api/device/v1/deployments/{id}/status", device.Token, new { status = step }, ct);
                    if (report.StatusCode != HttpStatusCode.NoContent) throw new InvalidOperationException($"Report: {(int)report.StatusCode} {await report.Content.ReadAsStringAsync(ct)}");
                    Interlocked.Increment(ref reports);
                }
                lock (done) done.Add(device.Serial);
            });
            var deployment = await http.GetFromJsonAsync<JsonElement>($"/api/v1/deployments/{id}");
            status = deployment.GetProperty("status").GetString()!;
            var success = deployment.GetProperty("statistics").GetProperty("success").GetInt32();
            if (success != lastSuccess || status != lastStatus)
                Console.WriteLine($"  {clock.Elapsed.TotalSeconds,7:F1} s  {status,-10} success {success,6}  polls {polls,8}");
            (lastSuccess, lastStatus) = (success, status);
            // A fleet with nothing left to install only waits for the orchestration's next check.
            if (done.Count == devices.Count && status != DeploymentStatuses.Finished) await Task.Delay(1000);
        }
        var wall = clock.Elapsed;

        Report.Line("deployment finished, devices", deviceCount, wall);
        Report.Line("device polls (204 and 200)", (int)polls, wall);
        Report.Line("status reports", (int)reports, wall);
        var after = counted ? host.TrafficSnapshot() : null;
        await host.Host.StopAsync();
        var steps = Regex.Match(host.Host.RecentOutput, @"stopped after (\d+) orchestrator steps and (\d+) activities");
        if (steps.Success) Console.WriteLine($"orchestrator steps {steps.Groups[1].Value}, activities {steps.Groups[2].Value}");
        if (after is null) return;

        var (reads, writes, transactions) = TableOperations(before, after, DeviceKeys.TableName, DeploymentStore.DeploymentsTable, DeploymentStore.RecordsTable);
        var raw = TimeSpan.FromSeconds(reads / rates.PointReads + writes / rates.Merges + transactions / rates.Transactions);
        Console.WriteLine($"table operations of the run (devices, deployments, records): {reads} reads, {writes} writes, {transactions} transactions " +
                          $"= {(reads + writes) / wall.TotalSeconds:F1}/s; the same counts as raw point reads/writes take {raw.TotalSeconds:F1} s " +
                          $"(wall time is {wall.TotalSeconds / raw.TotalSeconds:F2}x that)");
        Console.WriteLine($"offers {offers}, per device: {(double)(reads + writes + transactions) / deviceCount:F1} table operations");

        // The task hub's own traffic (history, instances, control and work-item queues; leases apart), per orchestrator step.
        var hub = TaskHubRequests(before, after);
        Console.WriteLine($"task hub: {hub.Tables} table requests, {hub.Queues} queue requests, {hub.Leases} lease (blob) requests in {wall.TotalSeconds:F0} s");
        if (steps.Success && long.Parse(steps.Groups[1].Value) is > 0 and var stepCount)
            Console.WriteLine($"{(double)(hub.Tables + hub.Queues) / stepCount:F1} task-hub storage requests per orchestrator step (tables + queues, idle polling included)");
    }

    /// <summary>Requests to the task hub's tables (<c>{hub}History</c>, <c>{hub}Instances</c>), queues and lease blobs; the hub is named in host.json.</summary>
    private static (long Tables, long Queues, long Leases) TaskHubRequests(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after)
    {
        const string hub = "serverlessfleet";
        long tables = 0, queues = 0, leases = 0;
        foreach (var (key, value) in after)
        {
            var parts = key.Split(' ');
            if (parts.Length != 2 || !parts[1].StartsWith(hub, StringComparison.OrdinalIgnoreCase)) continue;
            var delta = value - before.GetValueOrDefault(key);
            if (parts[1].Contains("lease", StringComparison.OrdinalIgnoreCase)) leases += delta;
            else if (parts[1].Contains('-')) queues += delta;
            else tables += delta;
        }
        return (tables, queues, leases);
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string token, object? body, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request, ct);
    }

    private static async Task<Artifact> SeedArtifactAsync(IServiceProvider services)
    {
        var artifacts = services.GetRequiredService<ArtifactStore>();
        var id = artifacts.NewId();
        await services.GetRequiredService<ArtifactBlobs>().UploadAsync(Tenant, id, new MemoryStream(new byte[4096]), "application/octet-stream", default);
        return await artifacts.RegisterAsync(new Artifact(id, Tenant, ArtifactRules.Validate("fw", "2.0", "firmware", ["screen"], null, null, null), 4096,
            new string('0', 64), "application/octet-stream", null, DateTimeOffset.UtcNow), default);
    }

    private static (long Reads, long Writes, long Transactions) TableOperations(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> after,
        params string[] tables)
    {
        long reads = 0, writes = 0, transactions = 0;
        foreach (var (key, value) in after)
        {
            var parts = key.Split(' ');
            if (parts.Length != 2) continue;
            var delta = value - before.GetValueOrDefault(key);
            if (parts[0] == "BATCH") { if (tables.Contains(parts[1])) transactions += delta; }
            else if (!tables.Contains(parts[1])) continue;
            else if (parts[0] == "GET") reads += delta;
            else writes += delta;
        }
        return (reads, writes, transactions);
    }
}
