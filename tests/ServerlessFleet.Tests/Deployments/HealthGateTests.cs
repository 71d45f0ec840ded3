using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>Rollouts that watch the updated devices' telemetry after each phase, on the real engine.</summary>
public sealed class HealthGateTests() : DeploymentTestBase("health")
{
    private const double WindowMinutes = 0.1;

    [Fact]
    public async Task Updated_devices_running_hot_pause_the_rollout_with_the_numbers_in_its_status()
    {
        var (id, devices) = await StartAsync("hot", new { metric = "temperature", op = ">", threshold = 80, windowMinutes = WindowMinutes, maxViolatingPercent = 0, minDevices = 2 });
        var paused = await RunPhaseAsync(id, devices[..2], updatedTemperature: 95, devices[2..], notUpdatedTemperature: 40, "paused");

        Assert.Contains("health gate phases[0]: 2 of 2 reporting updated devices temperature > 80 (100 %)", paused.GetProperty("statusReason").GetString());
        var health = paused.GetProperty("progress").GetProperty("health");
        Assert.Equal((2, 2, "pause", 95.0), (health.GetProperty("reporting").GetInt32(), health.GetProperty("violating").GetInt32(),
            health.GetProperty("verdict").GetString(), health.GetProperty("updatedMean").GetDouble()));
        Assert.Null(await PollAsync(devices[2]));
    }

    [Fact]
    public async Task A_regression_against_the_not_yet_updated_devices_pauses_the_rollout()
    {
        var (id, devices) = await StartAsync("regress", new { metric = "metric.cpu_load", op = ">", threshold = 1000, windowMinutes = WindowMinutes, minDevices = 2, regressionPercent = 20 });
        var paused = await RunPhaseAsync(id, devices[..2], updatedTemperature: 60, devices[2..], notUpdatedTemperature: 40, "paused", metric: "metric.cpu_load");
        Assert.Contains("50 % worse than 2 not-yet-updated devices", paused.GetProperty("statusReason").GetString());
        Assert.Equal(40.0, paused.GetProperty("progress").GetProperty("health").GetProperty("baselineMean").GetDouble());
    }

    [Fact]
    public async Task Healthy_telemetry_lets_the_rollout_advance_to_the_next_phase()
    {
        var (id, devices) = await StartAsync("healthy", new { metric = "temperature", op = ">", threshold = 80, windowMinutes = WindowMinutes, minDevices = 2 });
        using var reporting = new CancellationTokenSource();
        var telemetry = ReportAsync(devices, "temperature", 50, reporting.Token);
        await WaitOfferedAsync(id, devices[..2]);
        foreach (var device in devices[..2]) await InstallAsync(device, id, true);
        await WaitOfferedAsync(id, devices[2..]);
        var deployment = await Eventually.WaitAsync(() => DeploymentAsync(id), d => Health(d) is not null, Timeout, "the health check reported");
        Assert.Equal("pass", Health(deployment)!.Value.GetProperty("verdict").GetString());
        reporting.Cancel();
        await telemetry;
    }

    [Fact]
    public async Task An_abort_by_the_gate_rolls_back_exactly_the_devices_that_installed_the_release()
    {
        await UploadArtifactAsync("fw-stable", "1.0", "screen");
        var (id, devices) = await StartAsync("rollback",
            new { metric = "temperature", op = ">", threshold = 80, windowMinutes = WindowMinutes, maxViolatingPercent = 0, minDevices = 2, action = "abort" },
            rollback: new { release = new { name = "fw-stable", version = "1.0" } });
        var aborted = await RunPhaseAsync(id, devices[..2], updatedTemperature: 95, devices[2..], notUpdatedTemperature: 40, "aborted");

        var rollbackId = aborted.GetProperty("rolledBackBy").GetString()!;
        var rollback = await DeploymentAsync(rollbackId);
        Assert.Equal(id, rollback.GetProperty("rollbackOf").GetString());
        Assert.Equal("fw-stable", rollback.GetProperty("artifacts")[0].GetProperty("name").GetString());
        Assert.Equal(devices[..2].Select(d => d.Serial).Order(), (await RecordsAsync(rollbackId)).Select(r => r.Serial).Order());
        await WaitOfferedAsync(rollbackId, devices[..2]);
        foreach (var device in devices[..2]) await InstallAsync(device, rollbackId, true);
        await WaitForStatusAsync(rollbackId, "finished");
        Assert.Null(await PollAsync(devices[2]));
    }

    [Fact]
    public async Task A_gate_is_validated_field_by_field()
    {
        await UploadArtifactAsync("fw-gv", "1.0", "screen");
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 1, "gv");
        var response = await Owner.PostAsJsonAsync("/api/v1/deployments", new
        {
            name = "x", release = new { name = "fw-gv", version = "1.0" }, target = new { devices = devices.Select(d => d.Serial) },
            policy = new { healthGate = new { metric = "location", op = "!=", windowMinutes = 0 }, rollback = new { release = new { name = "nope", version = "1" } } },
        });
        var errors = (await response.AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error")).GetProperty("errors");
        foreach (var field in new[] { "policy.healthGate.metric", "policy.healthGate.op", "policy.healthGate.threshold", "policy.healthGate.windowMinutes" })
            Assert.True(errors.TryGetProperty(field, out _), field);
        var missingRollback = await Owner.PostAsJsonAsync("/api/v1/deployments", new
        {
            name = "x", release = new { name = "fw-gv", version = "1.0" }, target = new { devices = devices.Select(d => d.Serial) },
            policy = new { rollback = new { release = new { name = "nope", version = "1" } } },
        });
        await missingRollback.AssertErrorAsync(HttpStatusCode.UnprocessableEntity, "unprocessable");
    }

    private async Task<(string Id, FleetDeviceClient[] Devices)> StartAsync(string prefix, object gate, object? rollback = null)
    {
        await UploadArtifactAsync($"fw-{prefix}", "2.0", "screen");
        var devices = (await TestDevices.SeedAdmittedAsync(Tenant, 4, prefix)).ToArray();
        var id = (await CreateAsync(new
        {
            name = prefix, release = new { name = $"fw-{prefix}", version = "2.0" }, target = new { devices = devices.Select(d => d.Serial) },
            phases = new object[] { new { batchSize = 2 }, new { batchSize = 2 } },
            policy = new { healthGate = gate, rollback },
        })).GetProperty("id").GetString()!;
        return (id, devices);
    }

    /// <summary>Phase 0 installs while every device keeps reporting the metric, until the deployment reaches <paramref name="until"/>.</summary>
    private async Task<JsonElement> RunPhaseAsync(string id, IReadOnlyList<FleetDeviceClient> updated, double updatedTemperature, IReadOnlyList<FleetDeviceClient> notUpdated,
        double notUpdatedTemperature, string until, string metric = "temperature")
    {
        using var reporting = new CancellationTokenSource();
        var telemetry = Task.WhenAll(ReportAsync(updated, metric, updatedTemperature, reporting.Token), ReportAsync(notUpdated, metric, notUpdatedTemperature, reporting.Token));
        await WaitOfferedAsync(id, updated);
        foreach (var device in updated) await InstallAsync(device, id, true);
        // The stored status changes first; the orchestration's progress (with the check's numbers) and the rollback link follow.
        var decided = await Eventually.WaitAsync(() => DeploymentAsync(id), d => Status(d) == until && Health(d) is not null
            && (until != "aborted" || d.TryGetProperty("rolledBackBy", out var link) && link.ValueKind == JsonValueKind.String), Timeout, $"deployment {id} {until} by its health gate");
        reporting.Cancel();
        await telemetry;
        return decided;
    }

    private static JsonElement? Health(JsonElement deployment) =>
        deployment.TryGetProperty("progress", out var progress) && progress.ValueKind == JsonValueKind.Object
        && progress.TryGetProperty("health", out var health) && health.ValueKind == JsonValueKind.Object ? health : null;

    /// <summary>Devices report the metric every second, as a fleet's telemetry keeps coming while the rollout is watched.</summary>
    private static async Task ReportAsync(IReadOnlyList<FleetDeviceClient> devices, string metric, double value, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var device in devices)
                await (await device.PostTelemetryAsync([new { type = metric, timestamp = DateTimeOffset.UtcNow, value }])).AssertStatusAsync(HttpStatusCode.NoContent);
            try { await Task.Delay(1000, stop); }
            catch (OperationCanceledException) { return; }
        }
    }
}
