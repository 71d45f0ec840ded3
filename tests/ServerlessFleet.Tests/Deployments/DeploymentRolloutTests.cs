using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>Deployments run on the durable runtime against Azurite, with devices simulated over the device API.</summary>
public sealed class DeploymentRolloutTests() : DeploymentTestBase("dep")
{
    [Fact]
    public async Task Three_phases_to_300_devices_run_to_completion_in_order_and_the_dry_run_predicted_them()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 300, "p3", "rollout");
        await UploadArtifactAsync("fw", "2.0.0", "screen");
        var body = new
        {
            name = "fw 2.0.0 to rollout",
            release = new { name = "fw", version = "2.0.0" },
            target = new { group = "rollout" },
            phases = new object[] { new { batchPercent = 10 }, new { batchPercent = 30 }, new { } },
        };

        var plan = await (await (await Owner.PostAsJsonAsync("/api/v1/deployments?dryRun=true", body)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        var planned = plan.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("devices").EnumerateArray().Select(d => d.GetString()!).ToHashSet()).ToList();
        Assert.Equal([30, 90, 180], planned.Select(p => p.Count));
        Assert.Equal(0, (await (await Owner.GetAsync("/api/v1/deployments")).JsonAsync()).GetProperty("data").GetArrayLength());

        var created = await CreateAsync(body);
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(300, created.GetProperty("deviceCount").GetInt32());
        var offers = await RunFleetAsync(id, devices, (_, _) => true);

        var done = await DeploymentAsync(id);
        Assert.Equal(300, Count(done, "success"));
        Assert.Equal(0, Count(done, "pending"));
        Assert.Equal([30, 90, 180], done.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("size").GetInt32()));
        Assert.Equal([30, 90, 180], done.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("statistics").GetProperty("success").GetInt32()));
        Assert.All(offers.Values, count => Assert.Equal(1, count));

        // The real run put exactly the planned devices in each phase, and no phase started before the previous one finished.
        var records = await RecordsAsync(id);
        for (var phase = 0; phase < 3; phase++)
            Assert.Equal(planned[phase], records.Where(r => r.Phase == phase).Select(r => r.Serial).ToHashSet());
        for (var phase = 1; phase < 3; phase++)
            Assert.True(records.Where(r => r.Phase == phase - 1).Max(r => r.FinishedAt) <= records.Where(r => r.Phase == phase).Min(r => r.OfferedAt),
                $"phase {phase + 1} was offered before phase {phase} finished");
        Assert.All(records, r => Assert.Equal(1, r.Attempts));

        var page = await (await Owner.GetAsync($"/api/v1/deployments/{id}/devices?status=success&limit=100")).JsonAsync();
        Assert.Equal(100, page.GetProperty("data").GetArrayLength());
        Assert.NotNull(page.GetProperty("nextPage").GetString());
        var finished = await (await Owner.GetAsync("/api/v1/deployments?status=finished")).JsonAsync();
        Assert.Contains(finished.GetProperty("data").EnumerateArray(), d => d.GetProperty("id").GetString() == id);
        var stats = await (await Owner.PostAsJsonAsync("/api/v1/deployments/statistics", new { ids = new[] { id, "unknown" } })).JsonAsync();
        Assert.Equal(300, Assert.Single(stats.EnumerateArray()).GetProperty("statistics").GetProperty("success").GetInt32());
    }

    [Fact]
    public async Task Failure_threshold_pauses_exactly_when_min_devices_have_finished_and_resume_continues()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 30, "ft", "threshold");
        await UploadArtifactAsync("fw-ft", "1.0", "screen");
        var id = (await CreateAsync(new
        {
            name = "threshold",
            release = new { name = "fw-ft", version = "1.0" },
            target = new { group = "threshold" },
            phases = new object[] { new { batchSize = 10 }, new { } },
            policy = new { failureThreshold = new { percent = 50, minDevices = 6, action = "pause" } },
        })).GetProperty("id").GetString()!;
        var first = devices.Take(10).ToList();
        await WaitOfferedAsync(id, first);

        // 3 failures and 2 successes: 60 % failed but only 5 finished (< minDevices 6) → keeps going.
        for (var i = 0; i < 5; i++) await InstallAsync(first[i], id, succeed: i >= 3);
        Assert.Equal(DeploymentStatuses.InProgress, Status(await DecidedSinceAsync(id, DateTimeOffset.UtcNow)));

        // The sixth finished device fails: 4 of 6 (67 %) ≥ 50 % with minDevices met → paused.
        await InstallAsync(first[5], id, succeed: false);
        var paused = await WaitForStatusAsync(id, DeploymentStatuses.Paused);
        Assert.Contains("failure threshold", paused.GetProperty("statusReason").GetString());
        for (var i = 6; i < 10; i++) await InstallAsync(first[i], id, succeed: true);
        // Phase 1 is complete, yet a paused deployment releases nothing, decision after decision.
        Assert.Equal(DeploymentStatuses.Paused, Status(await DecidedSinceAsync(id, DateTimeOffset.UtcNow)));
        Assert.Null(await PollAsync(devices[20]));

        (await Owner.PostAsync($"/api/v1/deployments/{id}:resume", null)).EnsureSuccessStatusCode();
        await RunFleetAsync(id, devices.Skip(10).ToList(), (_, _) => true);
        var done = await DeploymentAsync(id);
        Assert.Equal(26, Count(done, "success"));
        Assert.Equal(4, Count(done, "failure"));
    }

    [Fact]
    public async Task Success_threshold_gates_the_next_phase_and_an_abort_threshold_aborts()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 20, "st", "gate");
        await UploadArtifactAsync("fw-st", "1.0", "screen");
        var id = (await CreateAsync(new
        {
            name = "gate",
            release = new { name = "fw-st", version = "1.0" },
            target = new { group = "gate" },
            phases = new object[] { new { batchSize = 10 }, new { } },
            policy = new { successThresholdPercent = 80 },
        })).GetProperty("id").GetString()!;

        // Phase 1 ends with 7 of 10 (70 % < 80 %): the next phase is held.
        var failing = devices.Take(3).Select(d => d.Serial).ToHashSet();
        await RunFleetAsync(id, devices.Take(10).ToList(), (d, _) => !failing.Contains(d.Serial), DeploymentStatuses.Paused);
        var paused = await DeploymentAsync(id);
        Assert.Contains("success threshold", paused.GetProperty("statusReason").GetString());
        Assert.Null(await PollAsync(devices[15]));

        // Resuming waives the gate for that phase.
        (await Owner.PostAsync($"/api/v1/deployments/{id}:resume", null)).EnsureSuccessStatusCode();
        await RunFleetAsync(id, devices.Skip(10).ToList(), (_, _) => true);
        Assert.Equal(17, Count(await DeploymentAsync(id), "success"));

        // With action abort, the same failures end the deployment.
        var more = await TestDevices.SeedAdmittedAsync(Tenant, 10, "ab", "abortgate");
        await UploadArtifactAsync("fw-ab", "1.0", "screen");
        var aborting = (await CreateAsync(new
        {
            name = "abort on failures",
            release = new { name = "fw-ab", version = "1.0" },
            target = new { group = "abortgate" },
            phases = new object[] { new { batchSize = 5 }, new { } },
            policy = new { failureThreshold = new { percent = 40, minDevices = 2, action = "abort" } },
        })).GetProperty("id").GetString()!;
        await RunFleetAsync(aborting, more.Take(5).ToList(), (_, _) => false, DeploymentStatuses.Aborted);
        var aborted = await DeploymentAsync(aborting);
        Assert.Contains("failure threshold", aborted.GetProperty("statusReason").GetString());
        Assert.True(Count(aborted, "aborted") >= 5, "the second phase never started");
        Assert.Equal(10, Count(aborted, "aborted") + Count(aborted, "failure"));
        Assert.Null(await PollAsync(more[7]));
    }

    [Fact]
    public async Task Success_threshold_advances_before_the_whole_phase_has_finished()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 8, "early", "early");
        await UploadArtifactAsync("fw-early", "1.0", "screen");
        var id = (await CreateAsync(new
        {
            name = "early",
            release = new { name = "fw-early", version = "1.0" },
            target = new { group = "early" },
            phases = new object[] { new { batchSize = 4 }, new { } },
            policy = new { successThresholdPercent = 50 },
        })).GetProperty("id").GetString()!;
        await WaitOfferedAsync(id, devices.Take(4).ToList());
        await InstallAsync(devices[0], id, true);
        await InstallAsync(devices[1], id, true);
        // Two of phase 1 are still silent, yet 50 % succeeded: phase 2 is offered.
        await Eventually.WaitAsync(async () => await PollAsync(devices[4]), offered => offered == id, Timeout, "phase 2 offered");
        Assert.Equal(2, (await DeploymentAsync(id)).GetProperty("phases")[0].GetProperty("statistics").GetProperty("pending").GetInt32());
    }

    [Fact]
    public async Task Abort_mid_phase_starts_no_new_device_refuses_later_reports_and_frees_the_artifact()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 12, "abort", "abort");
        var artifactId = await UploadArtifactAsync("fw-abort", "1.0", "screen");
        var id = (await CreateAsync(new
        {
            name = "to abort",
            artifactId,
            target = new { group = "abort" },
            phases = new object[] { new { batchSize = 6 }, new { } },
        })).GetProperty("id").GetString()!;
        await WaitOfferedAsync(id, devices.Take(6).ToList());
        await (await ReportAsync(devices[0], id, "downloading")).AssertStatusAsync(HttpStatusCode.NoContent);
        await InstallAsync(devices[1], id, true);
        await (await Owner.DeleteAsync($"/api/v1/artifacts/{artifactId}")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");

        var answer = await (await (await Owner.PostAsync($"/api/v1/deployments/{id}:abort", null)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal(DeploymentStatuses.Aborted, answer.GetProperty("status").GetString());
        var aborted = await WaitForStatusAsync(id, DeploymentStatuses.Aborted);
        Assert.Equal(1, Count(aborted, "success"));
        Assert.Equal(11, Count(aborted, "aborted"));

        // In progress: it may finish, but cannot report success. Not started: never gets it.
        await (await ReportAsync(devices[0], id, "success")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await ReportAsync(devices[1], id, "failure")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        foreach (var device in devices) Assert.Null(await PollAsync(device));
        await (await Owner.PostAsync($"/api/v1/deployments/{id}:resume", null)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await Owner.DeleteAsync($"/api/v1/artifacts/{artifactId}")).AssertStatusAsync(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Failed_devices_are_offered_again_up_to_the_retries_and_silent_devices_time_out()
    {
        // Retries and timeouts in two deployments: a device that answers is never raced by a timeout a busy machine could
        // exceed, and the silent device's timeout is judged with nothing else going on.
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 2, "retry", "retry");
        var silent = (await TestDevices.SeedAdmittedAsync(Tenant, 1, "retry-silent", "retry-silent"))[0];
        await UploadArtifactAsync("fw-retry", "1.0", "screen");
        var id = (await CreateAsync(new
        {
            name = "retries",
            release = new { name = "fw-retry", version = "1.0" },
            target = new { group = "retry" },
            policy = new { retries = 1 },
        })).GetProperty("id").GetString()!;
        // Device 0 fails once then succeeds; device 1 fails every time.
        var offers = await RunFleetAsync(id, devices, (d, attempt) => d == devices[0] && attempt == 2);

        Assert.Equal(2, offers[devices[0].Serial]);
        Assert.Equal(2, offers[devices[1].Serial]);
        var records = (await RecordsAsync(id)).ToDictionary(r => r.Serial);
        Assert.Equal(("success", 2), (records[devices[0].Serial].Status, records[devices[0].Serial].Attempts));
        Assert.Equal(("failure", 2), (records[devices[1].Serial].Status, records[devices[1].Serial].Attempts));

        // The silent device takes the offer and never reports: it times out twice (its retry, then for good).
        var timed = (await CreateAsync(new
        {
            name = "silence",
            release = new { name = "fw-retry", version = "1.0" },
            target = new { group = "retry-silent" },
            policy = new { retries = 1, deviceTimeoutMinutes = 0.05 },
        })).GetProperty("id").GetString()!;
        await Eventually.WaitAsync(async () => await PollAsync(silent), offered => offered == timed, Timeout, "offered");
        var record = await Eventually.WaitAsync(async () => (await RecordsAsync(timed)).Single(), r => r.Status == "failure", Timeout, "the silent device to time out for good");
        Assert.Equal(("failure", 2, "timed out"), (record.Status, record.Attempts, record.Substate));
        await (await ReportAsync(silent, timed, "downloading")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Dynamic_target_takes_devices_that_match_later_up_to_max_devices()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 4, "dyn");
        await (await Owner.PutAsJsonAsync($"/api/v1/devices/{devices[0].Serial}/tags", new { tags = new[] { "dyn-wave" } })).AssertStatusAsync(HttpStatusCode.OK);
        await UploadArtifactAsync("fw-dyn", "1.0", "screen");
        var body = new
        {
            name = "dynamic",
            release = new { name = "fw-dyn", version = "1.0" },
            target = new { filter = new Dictionary<string, string> { ["tag"] = "dyn-wave" } },
            policy = new { maxDevices = 3 },
        };
        var plan = await (await (await Owner.PostAsJsonAsync("/api/v1/deployments", new { body.name, body.release, body.target, body.policy, dryRun = true }))
            .AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.True(plan.GetProperty("dynamic").GetBoolean());
        Assert.Equal([devices[0].Serial], plan.GetProperty("phases")[0].GetProperty("devices").EnumerateArray().Select(d => d.GetString()));

        var id = (await CreateAsync(body)).GetProperty("id").GetString()!;
        await WaitOfferedAsync(id, [devices[0]]);
        await InstallAsync(devices[0], id, true);
        // Its one device succeeded, but a dynamic deployment below maxDevices stays open for devices that match later.
        var decided = await DecidedSinceAsync(id, DateTimeOffset.UtcNow);
        Assert.Equal(1, Count(decided, "success"));
        Assert.Equal(DeploymentStatuses.InProgress, Status(decided));

        foreach (var device in devices.Skip(1))
            await (await Owner.PutAsJsonAsync($"/api/v1/devices/{device.Serial}/tags", new { tags = new[] { "dyn-wave" } })).AssertStatusAsync(HttpStatusCode.OK);
        var offers = await RunFleetAsync(id, devices, (_, _) => true);
        Assert.Equal(devices.Take(3).Select(d => d.Serial), (await RecordsAsync(id)).Select(r => r.Serial).Order(StringComparer.Ordinal));
        Assert.Equal(3, Count(await DeploymentAsync(id), "success"));
        Assert.Equal(0, offers[devices[3].Serial]);
    }
}
