using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ServerlessFleet.Tests.Deployments;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Devices;

/// <summary>Why a device got or did not get something: its timeline, newest first, each decision with its reason.</summary>
public sealed class DeviceTimelineTests() : DeploymentTestBase("timeline")
{
    [Fact]
    public async Task The_timeline_shows_each_decision_about_a_device_with_its_reason_in_order()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 2, "tl");
        var (device, other) = (devices[0], devices[1]);
        await UploadArtifactAsync("fw-tl1", "1.0", "screen");
        await UploadArtifactAsync("fw-tl2", "1.0", "screen");
        var first = (await CreateAsync(new { name = "first", release = new { name = "fw-tl1", version = "1.0" }, target = new { devices = new[] { device.Serial, other.Serial } },
            policy = new { retries = 1 } })).GetProperty("id").GetString()!;
        await WaitOfferedAsync(first, devices);
        var second = (await CreateAsync(new { name = "second", release = new { name = "fw-tl2", version = "1.0" }, target = new { devices = new[] { device.Serial } } }))
            .GetProperty("id").GetString()!;
        await Eventually.WaitAsync(async () => (await RecordsAsync(second)).Single().OfferedAt, offered => offered is not null, Timeout, "the second deployment queued");

        Assert.Null(await PollAsync(other, "?deviceType=kiosk"));
        await (await ReportAsync(device, first, "failure")).AssertStatusAsync(HttpStatusCode.NoContent);
        await InstallAsync(device, first, true);
        Assert.Equal(second, await PollAsync(device));
        await (await Owner.PostAsync($"/api/v1/deployments/{second}:abort", null)).AssertStatusAsync(HttpStatusCode.OK);
        await (await Owner.PostAsJsonAsync("/api/v1/actions", new { type = "reboot", devices = new[] { device.Serial } })).AssertStatusAsync(HttpStatusCode.Accepted);
        var action = await Eventually.WaitAsync(async () => (await device.GetActionsAsync()).SingleOrDefault(), a => a is not null, Timeout, "the reboot delivered");
        await device.ReportActionResultAsync(action!.ActionId, succeeded: true);

        var timeline = await (await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/timeline")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        var entries = timeline.GetProperty("data").EnumerateArray().Select(e => (Subject: e.GetProperty("subjectId").GetString(),
            Decision: e.GetProperty("decision").GetString(), Reason: e.GetProperty("reason").GetString()!)).ToList();
        Assert.Equal(
            [(action.ActionId, "confirmed"), (action.ActionId, "delivered"), (second, "aborted"), (first, "installed"), (first, "retried"), (second, "queued"), (first, "offered")],
            entries.Select(e => (e.Subject, e.Decision)));
        Assert.Contains("targeted by device list", entries[^1].Reason);
        Assert.Contains($"busy with deployment {first}", entries[^2].Reason);
        Assert.Contains("attempt 2 of 2", entries[^3].Reason);
        Assert.Equal("aborted by request", entries[2].Reason);

        var history = await (await Owner.GetAsync($"/api/v1/deployments/{first}/devices/{device.Serial}/history")).JsonAsync();
        Assert.Equal(["installed", "retried", "offered"], history.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("decision").GetString()));
        var skipped = await (await Owner.GetAsync($"/api/v1/deployments/{first}/devices/{other.Serial}/history")).JsonAsync();
        Assert.Contains("incompatible: no artifact for device type kiosk", skipped.GetProperty("data")[0].GetProperty("reason").GetString());
        await (await Owner.GetAsync($"/api/v1/deployments/{second}/devices/{other.Serial}/history")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        using var stranger = (await (await FleetServer.Shared).CreateTenantAsync("tl-other")).OwnerClient();
        await (await stranger.GetAsync($"/api/v1/devices/{device.Serial}/timeline")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }
}
