using System.Net;
using System.Net.Http.Json;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>What a finished rollout leaves on the group and its devices: the release they run and the group's up-to-date count.</summary>
public sealed class GroupRolloutTests() : DeploymentTestBase("grouprel")
{
    [Fact]
    public async Task A_finished_group_rollout_records_the_desired_release_and_counts_devices_up_to_date()
    {
        await (await Owner.PostAsJsonAsync("/api/v1/groups", new { name = "lobby" })).AssertStatusAsync(HttpStatusCode.Created);
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 3, "lobby", "lobby");
        await UploadArtifactAsync("lobby-fw", "2.0", "screen");
        var id = (await CreateAsync(new { name = "lobby", release = new { name = "lobby-fw", version = "2.0" }, target = new { group = "lobby" } })).GetProperty("id").GetString()!;
        await WaitOfferedAsync(id, devices);
        var before = await GroupAsync("lobby");
        Assert.Equal(0, before.GetProperty("devicesUpToDateCount").GetInt32());

        await InstallAsync(devices[0], id, true);
        await InstallAsync(devices[1], id, true);
        await InstallAsync(devices[2], id, false);
        await WaitForStatusAsync(id, "finished");

        var inventory = await (await Owner.GetAsync($"/api/v1/devices/{devices[0].Serial}")).JsonAsync();
        var attributes = inventory.GetProperty("attributes").EnumerateArray().Where(a => a.GetProperty("scope").GetString() == "inventory")
            .ToDictionary(a => a.GetProperty("name").GetString()!, a => a.GetProperty("value").GetString());
        Assert.Equal(("lobby-fw", "2.0"), (attributes["artifact_name"], attributes["artifact_version"]));

        var group = await Eventually.WaitAsync(() => GroupAsync("lobby"), g => g.GetProperty("devicesUpToDateCount").GetInt32() > 0, Timeout, "the group's release recorded");
        Assert.Equal("lobby-fw", group.GetProperty("desiredReleases").GetProperty("firmware").GetString());
        Assert.Equal((3, 2), (group.GetProperty("deviceCount").GetInt32(), group.GetProperty("devicesUpToDateCount").GetInt32()));
    }

    private async Task<System.Text.Json.JsonElement> GroupAsync(string name) =>
        await (await (await Owner.GetAsync($"/api/v1/groups/{name}")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
}
