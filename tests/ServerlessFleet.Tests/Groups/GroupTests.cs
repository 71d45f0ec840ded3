using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Groups;

public sealed class GroupTests() : TenantScopedTests("grp")
{
    private async Task DeviceAsync(string serial, string? deviceType = "screen", string? group = null) =>
        await (await Owner.PostAsJsonAsync("/api/v1/devices", new { serial, hardwareVersion = "r1", deviceType, group })).AssertStatusAsync(HttpStatusCode.Created);

    private async Task<JsonElement> GroupAsync(string name) => await (await (await Owner.GetAsync($"/api/v1/groups/{name}")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();

    private Task<HttpResponseMessage> MoveAsync(string group, bool validateOnly, params string[] devices) =>
        Owner.PostAsJsonAsync($"/api/v1/groups/{group}/devices:move?validateOnly={validateOnly.ToString().ToLowerInvariant()}", new { devices });

    [Fact]
    public async Task Unassigned_always_exists_and_cannot_be_deleted()
    {
        var list = await (await Owner.GetAsync("/api/v1/groups")).JsonAsync();
        Assert.Contains(list.GetProperty("data").EnumerateArray(), g => g.GetProperty("name").GetString() == "unassigned");
        await (await Owner.DeleteAsync("/api/v1/groups/unassigned")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await Owner.PostAsJsonAsync("/api/v1/groups", new { name = "unassigned" })).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Non_empty_group_delete_is_409_and_empty_delete_works()
    {
        await (await Owner.PostAsJsonAsync("/api/v1/groups", new { name = "busy" })).AssertStatusAsync(HttpStatusCode.Created);
        await DeviceAsync("busy-1", group: "busy");
        await (await Owner.DeleteAsync("/api/v1/groups/busy")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await MoveAsync("unassigned", false, "busy-1")).AssertStatusAsync(HttpStatusCode.OK);
        await (await Owner.DeleteAsync("/api/v1/groups/busy")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await Owner.GetAsync("/api/v1/groups/busy")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Move_validate_only_reports_and_changes_nothing_then_real_move_moves()
    {
        await (await Owner.PostAsJsonAsync("/api/v1/groups", new { name = "old-os", desiredReleases = new { os = "os-1" } })).AssertStatusAsync(HttpStatusCode.Created);
        await (await Owner.PostAsJsonAsync("/api/v1/groups", new { name = "new-os", deviceType = "screen", desiredReleases = new { os = "os-2" } })).AssertStatusAsync(HttpStatusCode.Created);
        await DeviceAsync("m-1", group: "old-os");
        await DeviceAsync("m-2", group: "old-os");
        await DeviceAsync("m-kiosk", deviceType: "kiosk");
        await (await Owner.PatchAsync("/api/v1/devices/m-2/attributes", new StringContent("""[{"name":"artifact_name","value":"os-2","scope":"inventory"}]""", Encoding.UTF8, "application/json"))).AssertStatusAsync(HttpStatusCode.OK);

        var plan = await (await (await MoveAsync("new-os", true, "m-1", "m-2", "m-kiosk", "ghost")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal(["m-1"], Strings(plan, "willUpdate"));               // m-2 already runs os-2
        Assert.Equal(["m-1", "m-2"], Strings(plan, "willWipe"));          // desired OS changes os-1 → os-2
        Assert.Equal(["old-os"], Strings(plan, "emptyGroup"));
        Assert.Equal(["m-1", "m-2"], Strings(plan, "moved"));
        var rejected = plan.GetProperty("rejected").EnumerateArray().ToDictionary(r => r.GetProperty("serial").GetString()!, r => r.GetProperty("reason").GetString()!);
        Assert.Equal("not_found", rejected["ghost"]);
        Assert.StartsWith("device_type_mismatch", rejected["m-kiosk"]);
        Assert.Equal(2, (await GroupAsync("old-os")).GetProperty("deviceCount").GetInt32());
        Assert.Equal(0, (await GroupAsync("new-os")).GetProperty("deviceCount").GetInt32());

        await (await MoveAsync("new-os", false, "m-1", "m-2", "m-kiosk")).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(0, (await GroupAsync("old-os")).GetProperty("deviceCount").GetInt32());
        var target = await GroupAsync("new-os");
        Assert.Equal(2, target.GetProperty("deviceCount").GetInt32());
        Assert.Equal(1, target.GetProperty("devicesUpToDateCount").GetInt32());
        Assert.Equal("new-os", (await (await Owner.GetAsync("/api/v1/devices/m-1")).JsonAsync()).GetProperty("group").GetString());
        Assert.Equal("unassigned", (await (await Owner.GetAsync("/api/v1/devices/m-kiosk")).JsonAsync()).GetProperty("group").GetString());
    }

    [Fact]
    public async Task Counts_follow_creates_moves_and_decommissions()
    {
        await (await Owner.PostAsJsonAsync("/api/v1/groups", new { name = "counted" })).AssertStatusAsync(HttpStatusCode.Created);
        foreach (var i in Enumerable.Range(0, 3)) await DeviceAsync($"c-{i}", group: "counted");
        Assert.Equal(3, (await GroupAsync("counted")).GetProperty("deviceCount").GetInt32());
        await (await Owner.DeleteAsync("/api/v1/devices/c-0")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await MoveAsync("unassigned", false, "c-1")).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(1, (await GroupAsync("counted")).GetProperty("deviceCount").GetInt32());
    }

    [Fact]
    public async Task Locking_a_group_to_a_type_needs_matching_members()
    {
        await (await Owner.PostAsJsonAsync("/api/v1/groups", new { name = "mixed" })).AssertStatusAsync(HttpStatusCode.Created);
        await DeviceAsync("mx-1", deviceType: "kiosk", group: "mixed");
        var refused = await Owner.PatchAsync("/api/v1/groups/mixed", new StringContent("{\"deviceType\":\"screen\"}", Encoding.UTF8, "application/json"));
        await refused.AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        var locked = await Owner.PatchAsync("/api/v1/groups/mixed", new StringContent("{\"deviceType\":\"kiosk\",\"description\":\"kiosks\"}", Encoding.UTF8, "application/json"));
        Assert.Equal("kiosk", (await (await locked.AssertStatusAsync(HttpStatusCode.OK)).JsonAsync()).GetProperty("deviceType").GetString());
        await (await Owner.PostAsJsonAsync("/api/v1/devices", new { serial = "mx-2", hardwareVersion = "r1", deviceType = "screen", group = "mixed" }))
            .AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task Move_limits_and_scope()
    {
        await (await MoveAsync("unassigned", false, Enumerable.Range(0, 501).Select(i => $"s{i}").ToArray())).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await MoveAsync("nowhere", false, "x")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        using var reader = Tenant.Server.Client(await Tenant.CreateKeyAsync("fleet:read"));
        await (await reader.PostAsJsonAsync("/api/v1/groups/unassigned/devices:move", new { devices = new[] { "x" } })).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        using var mover = Tenant.Server.Client(await Tenant.CreateKeyAsync("fleet:move"));
        await (await mover.PostAsJsonAsync("/api/v1/groups/unassigned/devices:move", new { devices = new[] { "x" } })).AssertStatusAsync(HttpStatusCode.OK);
    }

    private static string[] Strings(JsonElement e, string property) => e.GetProperty(property).EnumerateArray().Select(x => x.GetString()!).ToArray();
}
