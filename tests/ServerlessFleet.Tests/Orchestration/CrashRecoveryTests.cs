using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Tests.Artifacts;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>
/// The worker killed in the middle of a rollout and a bulk action, then a new host on the same storage: the task hub
/// carries both through. Every device ends where it should, offered the deployment once and given the command once.
/// </summary>
public sealed partial class CrashRecoveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
        ["Fleet:RateLimits:AnonymousPerMinute"] = "100000",
        ["Fleet:RateLimits:DevicePerMinute"] = "100000",
        ["Fleet:DeploymentCheckSeconds"] = "1",
        // Deliveries the dead host had leased stay invisible for their lease; the action sends them again before that.
        ["Fleet:ActionRedeliverSeconds"] = "10",
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:maxQueuePollingInterval"] = "00:00:01",
        // A message the dead worker had taken comes back after this (5 minutes by default).
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:controlQueueVisibilityTimeout"] = "00:00:10",
        ["AzureFunctionsJobHost:extensions:durableTask:storageProvider:workItemQueueVisibilityTimeout"] = "00:00:10",
    };

    [Fact]
    public async Task Killing_the_worker_then_the_host_mid_rollout_loses_and_repeats_nothing()
    {
        var storage = Azurite.StartPrivate();
        var first = await FleetServer.StartAsync(Settings, storage);
        var tenant = await first.CreateTenantAsync("crash");
        var devices = await TestDevices.SeedAdmittedAsync(tenant, 40, "crash", "crash");
        string deploymentId, actionId;
        using (var owner = tenant.OwnerClient())
        {
            using var file = new MemoryStream("fw 9.0.0"u8.ToArray());
            await (await owner.PostAsync("/api/v1/artifacts", ArtifactUploads.Form("fw", "9.0.0", file, "firmware", ["screen"]))).AssertStatusAsync(HttpStatusCode.Created);
            deploymentId = await CreatedIdAsync(owner.PostAsJsonAsync("/api/v1/deployments", new
            {
                name = "through a crash",
                release = new { name = "fw", version = "9.0.0" },
                target = new { group = "crash" },
                phases = new object[] { new { batchPercent = 10 }, new { batchPercent = 30 }, new { } },
            }));
            actionId = await CreatedIdAsync(owner.PostAsJsonAsync("/api/v1/actions", new
            {
                type = "refresh", group = "crash", rollout = new { batchSize = 5, batchDelaySeconds = 2 },
            }));
        }

        // Phase 1 installs; once phase 2 is being offered and some commands are out, the worker dies.
        var offers = devices.ToDictionary(d => d.Serial, _ => 0);
        await Eventually.WaitAsync(async () =>
        {
            await InstallOfferedAsync(deploymentId, devices, offers);
            return offers.Values.Count(v => v > 0);
        }, installed => installed > 4, Timeout, "phase 2 to be offered");
        var pid = int.Parse(WorkerPid().Match(first.Host.RecentOutput).Groups[1].Value);
        Process.GetProcessById(pid).Kill(entireProcessTree: true);
        // The host starts another worker, and the rollout goes on with it.
        await Eventually.WaitAsync(() => Task.FromResult(WorkerPid().Matches(first.Host.RecentOutput).Count), n => n == 2, Timeout, "the worker started again");
        var beforeRestart = offers.Values.Count(v => v > 0);
        await Eventually.WaitAsync(async () =>
        {
            await InstallOfferedAsync(deploymentId, devices, offers);
            return offers.Values.Count(v => v > 0);
        }, installed => installed > beforeRestart, Timeout, "more devices offered by the restarted worker");

        // Then the whole host goes (its machine is lost): another host takes over the same storage.
        first.Host.Kill();
        await first.DisposeAsync();

        await using var second = await FleetServer.StartAsync(Settings, storage);
        var restarted = tenant with { Server = second };
        var tokens = second.Services.GetRequiredService<DeviceTokens>();
        devices = devices.Select(d => new FleetDeviceClient(second.Client(), "", d.Serial, DeviceKey.Generate(KeyAlgorithm.Ed25519))
            .UseToken(tokens.Issue(tenant.TenantId, d.Serial).Token)).ToList();
        using var owner2 = restarted.OwnerClient();
        var deadline = DateTime.UtcNow + Timeout;
        string deployment = "", action = "";
        while (DateTime.UtcNow < deadline && !(deployment == DeploymentStatuses.Finished && action == ActionStatuses.Succeeded))
        {
            await InstallOfferedAsync(deploymentId, devices, offers);
            await ConfirmDeliveredAsync(actionId, devices);
            deployment = (await owner2.GetFromJsonAsync<JsonElement>($"/api/v1/deployments/{deploymentId}")).GetProperty("status").GetString()!;
            action = (await owner2.GetFromJsonAsync<JsonElement>($"/api/v1/actions/{actionId}")).GetProperty("status").GetString()!;
            await Task.Delay(500);
        }
        Assert.Equal(DeploymentStatuses.Finished, deployment);
        Assert.Equal(ActionStatuses.Succeeded, action);

        var records = await second.Services.GetRequiredService<DeploymentStore>().RecordsAsync(tenant.TenantId, deploymentId, null, default);
        Assert.Equal(40, records.Count(r => r.Status == DeviceDeploymentStatuses.Success));
        Assert.All(records, r => Assert.Equal(1, r.Attempts));
        Assert.All(offers.Values, count => Assert.Equal(1, count));
        var history = await Task.WhenAll(devices.Select(async d =>
            (await (await owner2.GetAsync($"/api/v1/devices/{d.Serial}/actions")).JsonAsync()).GetProperty("data").EnumerateArray()
                .Count(e => e.GetProperty("actionId").GetString() == actionId)));
        Assert.All(history, count => Assert.Equal(1, count));
    }

    private static async Task<string> CreatedIdAsync(Task<HttpResponseMessage> request) =>
        (await (await (await request).AssertStatusAsync(HttpStatusCode.Accepted)).JsonAsync()).GetProperty("id").GetString()!;

    /// <summary>One round of the fleet: each device offered the deployment installs it.</summary>
    private static async Task InstallOfferedAsync(string deploymentId, IReadOnlyList<FleetDeviceClient> devices, Dictionary<string, int> offers)
    {
        await Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (device, ct) =>
        {
            var poll = await device.SendOnceAsync(HttpMethod.Get, "/api/device/v1/deployments/next", null, ct);
            if (poll.StatusCode != HttpStatusCode.OK || (await poll.JsonAsync()).GetProperty("deploymentId").GetString() != deploymentId) return;
            lock (offers) offers[device.Serial]++;
            foreach (var status in new[] { "downloading", "installing", "success" })
                await (await device.SendOnceAsync(HttpMethod.Put, $"/api/device/v1/deployments/{deploymentId}/status", new { status }, ct)).AssertStatusAsync(HttpStatusCode.NoContent);
        });
    }

    /// <summary>One round of the fleet: each device with the command in its inbox confirms it.</summary>
    private static async Task ConfirmDeliveredAsync(string actionId, IReadOnlyList<FleetDeviceClient> devices)
    {
        await Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (device, ct) =>
        {
            var inbox = await (await device.SendOnceAsync(HttpMethod.Get, "/api/device/v1/actions?afterSeq=0", null, ct)).JsonAsync();
            if (inbox.EnumerateArray().Any(e => e.GetProperty("actionId").GetString() == actionId))
                await (await device.SendOnceAsync(HttpMethod.Post, $"/api/device/v1/actions/{actionId}/result", new { status = "succeeded" }, ct)).AssertStatusAsync(HttpStatusCode.NoContent);
        });
    }

    [GeneratedRegex(@"Started worker process (\d+)")]
    private static partial Regex WorkerPid();
}
