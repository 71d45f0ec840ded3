using ServerlessFleet.Simulator;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Simulator;

/// <summary>The fleet simulator's own logic, and one short run of it against the API.</summary>
public sealed class SimulatorTests() : TenantScopedTests("sim")
{
    [Fact]
    public void Status_sequences_follow_mender_for_each_outcome()
    {
        Assert.Equal(["downloading", "installing", "rebooting", "success"], DeviceBehaviour.StatusSequence(InstallOutcome.Success));
        Assert.Equal(["downloading", "installing", "failure"], DeviceBehaviour.StatusSequence(InstallOutcome.Failure));
        Assert.Equal(["downloading"], DeviceBehaviour.StatusSequence(InstallOutcome.Silent));
    }

    [Fact]
    public void Outcomes_follow_the_configured_rates()
    {
        var random = new Random(11);
        var outcomes = Enumerable.Range(0, 20_000).Select(_ => DeviceBehaviour.Choose(random, failurePercent: 5, silencePercent: 10)).ToList();
        Assert.InRange(outcomes.Count(o => o == InstallOutcome.Failure) / 200.0, 4, 6);
        Assert.InRange(outcomes.Count(o => o == InstallOutcome.Silent) / 200.0, 9, 11);
        Assert.All(Enumerable.Range(0, 1000).Select(_ => DeviceBehaviour.Choose(random, 0, 0)), o => Assert.Equal(InstallOutcome.Success, o));
    }

    [Fact]
    public void Polls_wait_what_the_server_says_or_the_interval_within_its_jitter()
    {
        var random = new Random(3);
        var waits = Enumerable.Range(0, 10_000).Select(_ => DeviceBehaviour.NextPoll(TimeSpan.FromSeconds(30), 20, null, random).TotalSeconds).ToList();
        Assert.All(waits, w => Assert.InRange(w, 24, 36));
        Assert.True(waits.Min() < 25 && waits.Max() > 35, "the waits cover the jitter range");
        Assert.Equal(TimeSpan.FromSeconds(7), DeviceBehaviour.NextPoll(TimeSpan.FromSeconds(30), 20, TimeSpan.FromSeconds(7), random));
    }

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        var values = Enumerable.Range(1, 100).Select(v => (double)v).ToList();
        Assert.Equal((50.0, 95.0, 99.0, 100.0), (Measurements.Percentile(values, 50), Measurements.Percentile(values, 95), Measurements.Percentile(values, 99),
            Measurements.Percentile(values, 100)));
        Assert.Equal(7.0, Measurements.Percentile([7.0], 99));
        Assert.Equal(0.0, Measurements.Percentile([], 50));
        Assert.Equal(3.0, Measurements.Percentile([1.0, 2.0, 3.0, 4.0], 75));
    }

    [Fact]
    public void Requests_are_counted_per_route_with_ids_replaced()
    {
        Assert.Equal("/api/device/v1/deployments/{id}/status", Measurements.Route("/api/device/v1/deployments/8df4c9543e498f011c1192d31/status"));
        Assert.Equal("/api/device/v1/deployments/next", Measurements.Route("http://127.0.0.1:7071/api/device/v1/deployments/next?artifactName=x"));
        Assert.Equal("/api/device/v1/actions/{id}/result", Measurements.Route("/api/device/v1/actions/8df4c9543e498f011c1192d31/result"));
        Assert.Equal("(artifact download)", Measurements.Route("http://127.0.0.1:41234/devstoreaccount1/artifacts/t1/8df4c9543e498f011c1192d31?sv=2025&sig=x"));
        var measurements = new Measurements();
        foreach (var ms in new[] { 5.0, 10, 15, 20 }) measurements.Record("GET", "/api/device/v1/deployments/next?x=1", ms, 204);
        measurements.Record("GET", "/api/device/v1/deployments/next", 500, 503);
        var route = Assert.Single(measurements.Figures());
        Assert.Equal(("GET /api/device/v1/deployments/next", 5, 15.0, 500.0), (route.Route, route.Requests, route.P50, route.Max));
        Assert.Equal(new Dictionary<int, int> { [204] = 4, [503] = 1 }, route.ByStatus);
        Assert.Equal(1, measurements.Errors);
    }

    [Fact]
    public async Task A_regression_the_simulator_injects_stops_a_rollout_at_its_health_gate()
    {
        var key = await Tenant.CreateKeyAsync("fleet:manager", "registry:admin", "fleet:deploy");
        var summary = await new Simulation(new SimulationOptions
        {
            BaseUrl = Tenant.Server.BaseAddress, ApiKey = key, Devices = 4, PollInterval = TimeSpan.FromSeconds(1), Rollout = true, Phases = 2,
            TelemetryPerHour = 3600, RegressionPercent = 100, RegressedValue = 95, HealthGate = "temperature>80", HealthWindowMinutes = 0.1,
            Duration = TimeSpan.FromMinutes(3), Prefix = "simreg", Seed = 7,
        }).RunAsync(CancellationToken.None);

        Assert.Equal("paused", summary.DeploymentStatus);
        // The gate (at least one device) may judge when the first of the two updated devices reports or when both have:
        // every device reporting is over the threshold either way, and the second phase is never released.
        var judged = System.Text.RegularExpressions.Regex.Match(summary.DeploymentReason ?? "",
            @"health gate phases\[0\]: ([12]) of \1 reporting updated devices temperature > 80");
        Assert.True(judged.Success, summary.DeploymentReason);
        Assert.InRange(summary.Installed, 1, 2);
    }

    [Fact]
    public async Task A_short_run_onboards_devices_rolls_out_and_confirms_an_action()
    {
        var key = await Tenant.CreateKeyAsync("fleet:manager", "registry:admin", "fleet:deploy", "notify:reboot");
        var simulation = new Simulation(new SimulationOptions
        {
            BaseUrl = Tenant.Server.BaseAddress, ApiKey = key, Devices = 5, PollInterval = TimeSpan.FromSeconds(1), Rollout = true, Phases = 2, Action = "reboot",
            TelemetryPerHour = 3600, Duration = TimeSpan.FromMinutes(3), Seed = 42,
        });
        var summary = await simulation.RunAsync(CancellationToken.None);

        Assert.Equal(("finished", "succeeded"), (summary.DeploymentStatus, summary.ActionStatus));
        Assert.Equal((5, 0, 0, 5), (summary.Installed, summary.Failed, summary.Silent, summary.ActionsConfirmed));
        Assert.Equal(0, summary.Errors);
        var statuses = summary.Routes.Single(r => r.Route == "PUT /api/device/v1/deployments/{id}/status");
        Assert.Equal(5 * 4, statuses.Requests);
        Assert.Contains(summary.Routes, r => r.Route == "GET (artifact download)" && r.Requests == 5);
        Assert.All(summary.Routes, r => Assert.True(r.P50 <= r.P95 && r.P95 <= r.P99 && r.P99 <= r.Max, r.Route));
        var json = System.Text.Json.JsonDocument.Parse(Simulation.Json(summary)).RootElement;
        Assert.Equal(5, json.GetProperty("installed").GetInt32());
    }
}
