using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Tests.Artifacts;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>Deployment tests in a tenant of their own: artifacts uploaded over the API, devices simulated with the device client.</summary>
public abstract class DeploymentTestBase(string prefix) : TenantScopedTests(prefix)
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    protected async Task<string> UploadArtifactAsync(string name, string version, params string[] deviceTypes)
    {
        using var file = new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"{name} {version} payload"));
        var response = await (await Owner.PostAsync("/api/v1/artifacts", ArtifactUploads.Form(name, version, file, "firmware", deviceTypes))).AssertStatusAsync(HttpStatusCode.Created);
        return (await response.JsonAsync()).GetProperty("id").GetString()!;
    }

    protected async Task<JsonElement> CreateAsync(object body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/deployments") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await (await Owner.SendAsync(request)).AssertStatusAsync(HttpStatusCode.Accepted);
        Assert.StartsWith("/api/v1/deployments/", response.Headers.Location!.ToString());
        return await response.JsonAsync();
    }

    protected async Task<JsonElement> DeploymentAsync(string id) => await (await (await Owner.GetAsync($"/api/v1/deployments/{id}")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();

    protected static string Status(JsonElement deployment) => deployment.GetProperty("status").GetString()!;

    protected static int Count(JsonElement deployment, string status) => deployment.GetProperty("statistics").GetProperty(status).GetInt32();

    protected Task<JsonElement> WaitForStatusAsync(string id, params string[] statuses) =>
        Eventually.WaitAsync(() => DeploymentAsync(id), d => statuses.Contains(Status(d)), Timeout, $"deployment {id} to be {string.Join("|", statuses)}");

    /// <summary>
    /// The deployment once its orchestration has decided on counters read after <paramref name="since"/> (its progress
    /// carries the time of its last decision): what it decided then stands, so "nothing happened" can be asserted.
    /// </summary>
    protected Task<JsonElement> DecidedSinceAsync(string id, DateTimeOffset since) =>
        Eventually.WaitAsync(() => DeploymentAsync(id),
            d => d.GetProperty("progress") is { ValueKind: JsonValueKind.Object } p && p.GetProperty("at").GetDateTimeOffset() > since, Timeout,
            $"deployment {id} to decide after {since:O}");

    protected async Task<IReadOnlyList<DeviceDeployment>> RecordsAsync(string id) =>
        await Tenant.Server.Services.GetRequiredService<DeploymentStore>().RecordsAsync(Tenant.TenantId, id, null, default);

    /// <summary>The device's poll: the offered deployment id, or null for 204.</summary>
    protected static async Task<string?> PollAsync(FleetDeviceClient device, string query = "")
    {
        var response = await device.SendOnceAsync(HttpMethod.Get, "/api/device/v1/deployments/next" + query, null, default);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            Assert.True(response.Headers.Contains("X-Poll-After"));
            return null;
        }
        var body = await (await response.AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        var artifact = body.GetProperty("artifact");
        Assert.StartsWith("http", artifact.GetProperty("uri").GetString());
        Assert.Equal(64, artifact.GetProperty("sha256").GetString()!.Length);
        return body.GetProperty("deploymentId").GetString();
    }

    protected static Task WaitOfferedAsync(string deploymentId, IReadOnlyList<FleetDeviceClient> devices) =>
        Eventually.WaitAsync(async () => (await Task.WhenAll(devices.Select(d => PollAsync(d)))).All(offered => offered == deploymentId), all => all, Timeout,
            $"{devices.Count} devices offered {deploymentId}");

    protected static async Task<HttpResponseMessage> ReportAsync(FleetDeviceClient device, string deploymentId, string status) =>
        await device.SendOnceAsync(HttpMethod.Put, $"/api/device/v1/deployments/{deploymentId}/status", new { status }, default);

    /// <summary>
    /// What a device does with an offered deployment: download, install, then success or failure. A deployment aborted
    /// while the device works on it (a threshold reached by the other devices) refuses its next report with 409, and
    /// the device stops there.
    /// </summary>
    protected static async Task InstallAsync(FleetDeviceClient device, string deploymentId, bool succeed)
    {
        foreach (var status in new[] { "downloading", "installing", succeed ? "success" : "failure" })
        {
            var response = await ReportAsync(device, deploymentId, status);
            if (response.StatusCode == HttpStatusCode.Conflict && (await response.Content.ReadAsStringAsync()).Contains("set to aborted", StringComparison.Ordinal))
                return;
            await response.AssertStatusAsync(HttpStatusCode.NoContent);
        }
    }

    /// <summary>
    /// Simulated devices polling in rounds and installing what they are offered, until the deployment reaches one of
    /// <paramref name="until"/>. Returns how many times each device was offered the deployment.
    /// </summary>
    protected async Task<IReadOnlyDictionary<string, int>> RunFleetAsync(string deploymentId, IReadOnlyList<FleetDeviceClient> devices,
        Func<FleetDeviceClient, int, bool> succeeds, params string[] until)
    {
        var offers = devices.ToDictionary(d => d.Serial, _ => 0);
        var deadline = DateTime.UtcNow + Timeout;
        until = until.Length == 0 ? [DeploymentStatuses.Finished] : until;
        while (DateTime.UtcNow < deadline)
        {
            await Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (device, _) =>
            {
                if (await PollAsync(device) != deploymentId) return;
                int attempt;
                lock (offers) attempt = ++offers[device.Serial];
                await InstallAsync(device, deploymentId, succeeds(device, attempt));
            });
            var status = Status(await DeploymentAsync(deploymentId));
            if (until.Contains(status)) return offers;
            await Task.Delay(300);
        }
        Assert.Fail($"Deployment {deploymentId} did not reach {string.Join("|", until)}: {await DeploymentAsync(deploymentId)}");
        return offers;
    }
}
