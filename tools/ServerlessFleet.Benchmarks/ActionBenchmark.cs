using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions.Actions;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// One action to N simulated devices: delivery through the queue function into each inbox, then every device
/// reads its inbox and confirms over the device API. Prints actions delivered and confirmed per second, next to
/// the raw queue baseline and a raw Table point-write baseline measured in the same run.
/// </summary>
internal static class ActionBenchmark
{
    public static async Task RunAsync(int deviceCount)
    {
        Console.WriteLine($"# Device action to {deviceCount} simulated devices on Azurite");
        await RawQueueBaseline.RunAsync(2000);
        var tableBaseline = await RawTableBaseline.InsertsIntoEmptyTableAsync(2000);

        await using var host = await BenchHost.StartAsync();
        var services = host.Services;
        const string tenant = BenchFleet.Tenant;
        var clock = Stopwatch.StartNew();
        var serials = await BenchFleet.SeedAsync(services, Enumerable.Range(0, deviceCount).Select(i => $"bench-{Guid.NewGuid():n}"[..20] + i).ToList(), "action-bench");
        var tokens = BenchFleet.Tokens(services, serials);
        Report.Line("devices seeded (create + accept)", deviceCount, clock.Elapsed);
        var atSize = await RawTableBaseline.OnTableAsync(services.GetRequiredService<ServerlessFleet.Shared.Storage.FleetStorage>().Table(DeviceKeys.TableName),
            serials.Select(s => (DeviceKeys.Partition(tenant, s), DeviceKeys.DeviceRow)).ToList());

        var actions = services.GetRequiredService<ActionStore>();
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        using var admin = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BenchHost.BootstrapKey);
        clock.Restart();
        var created = await admin.PostAsJsonAsync("/api/v1/actions", new { type = "refresh", group = "action-bench" });
        if (!created.IsSuccessStatusCode) throw new InvalidOperationException($"Create: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        var actionId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Report.Line("action created (records)", deviceCount, clock.Elapsed);
        while ((await actions.ProgressAsync(tenant, actionId, default)).Delivered < deviceCount) await Task.Delay(250);
        var delivered = clock.Elapsed;
        // Each delivery needs at least its inbox transaction; messages carry 20 devices, so the queue is not the floor.
        Report.Line("actions delivered into inboxes", deviceCount, delivered, atSize.Transactions, "raw 2-entity transactions");

        clock.Restart();
        await Parallel.ForEachAsync(serials.Zip(tokens), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (device, ct) =>
        {
            var (serial, token) = device;
            using var read = new HttpRequestMessage(HttpMethod.Get, "/api/device/v1/actions?afterSeq=0");
            read.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var response = await http.SendAsync(read, ct);
            var inbox = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            if (!response.IsSuccessStatusCode || inbox.GetArrayLength() == 0)
                throw new InvalidOperationException($"Inbox of {serial}: {(int)response.StatusCode} {inbox}");
            var actionId = inbox[0].GetProperty("actionId").GetString();
            using var confirm = new HttpRequestMessage(HttpMethod.Post, $"/api/device/v1/actions/{actionId}/result") { Content = JsonContent.Create(new { status = "succeeded" }) };
            confirm.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            (await http.SendAsync(confirm, ct)).EnsureSuccessStatusCode();
        });
        var confirmed = clock.Elapsed;
        Report.Line("actions read + confirmed by devices (HTTP)", deviceCount, confirmed);
        string status;
        while (!ActionStatuses.IsFinal(status = (await admin.GetFromJsonAsync<JsonElement>($"/api/v1/actions/{actionId}")).GetProperty("status").GetString()!))
            await Task.Delay(100);
        var end = clock.Elapsed;
        Report.Line("delivered + confirmed, end to end", deviceCount, delivered + confirmed);
        Report.Line("created to action final, end to end", deviceCount, delivered + end);
        Console.WriteLine($"action: {status}");
        Console.WriteLine($"raw table: point inserts into an empty table {tableBaseline:F1}/s; on the seeded devices table: point reads {atSize.PointReads:F1}/s, " +
                          $"merges {atSize.Merges:F1}/s, 2-entity transactions {atSize.Transactions:F1}/s.");
        Console.WriteLine($"One delivery costs 3 point reads (record, device row, inbox marker), 1 inbox transaction and 1/{ActionService.DevicesPerMessage} of a queue message, " +
                          "an action read, a counters read and a records transaction; a confirmation (HTTP) 5 point reads, 1 transaction and 1 merge.");
    }
}
