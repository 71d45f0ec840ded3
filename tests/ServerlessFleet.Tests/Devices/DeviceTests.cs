using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Devices;

public sealed class DeviceTests() : TenantScopedTests("dev")
{
    private async Task<string> CreateAsync(object? extra = null)
    {
        var serial = $"SN-{Guid.NewGuid():n}"[..16];
        var body = JsonSerializer.SerializeToNode(new { serial, hardwareVersion = "rev-b", name = "Lobby screen" })!.AsObject();
        if (extra is not null) foreach (var p in JsonSerializer.SerializeToNode(extra)!.AsObject()) body[p.Key] = p.Value?.DeepClone();
        await (await Owner.PostAsJsonAsync("/api/v1/devices", body)).AssertStatusAsync(HttpStatusCode.Created);
        return serial;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<Dictionary<string, string>> AttributesAsync(string serial) =>
        (await (await Owner.GetAsync($"/api/v1/devices/{serial}/attributes")).JsonAsync()).EnumerateArray()
            .ToDictionary(a => $"{a.GetProperty("scope").GetString()}.{a.GetProperty("name").GetString()}", a => a.GetProperty("value").ToString());

    [Fact]
    public async Task Create_get_and_duplicate()
    {
        var serial = await CreateAsync(new { ownerRef = "cust-9", tags = new[] { "eu" } });
        var response = await Owner.GetAsync($"/api/v1/devices/{serial}");
        var device = await (await response.AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal("cust-9", device.GetProperty("ownerRef").GetString());
        Assert.Equal("unassigned", device.GetProperty("group").GetString());
        Assert.Equal("noauth", device.GetProperty("status").GetString());
        Assert.NotNull(response.Headers.ETag);

        var duplicate = await Owner.PostAsJsonAsync("/api/v1/devices", new { serial, hardwareVersion = "x" });
        await duplicate.AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Invalid_device_is_a_field_precise_400()
    {
        var body = await (await Owner.PostAsJsonAsync("/api/v1/devices", new { serial = "bad serial/", tags = new[] { "ok", "no spaces" }, group = "nowhere" }))
            .AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        var errors = body.GetProperty("errors");
        Assert.True(errors.TryGetProperty("serial", out _));
        Assert.True(errors.TryGetProperty("hardwareVersion", out _));
        Assert.True(errors.TryGetProperty("tags", out _));
    }

    [Fact]
    public async Task Patch_changes_only_given_fields_and_refuses_group()
    {
        var serial = await CreateAsync(new { ownerRef = "keep" });
        var patched = await (await Owner.PatchAsync($"/api/v1/devices/{serial}", Json("{\"name\":\"Renamed\",\"deviceType\":null}"))).JsonAsync();
        Assert.Equal("Renamed", patched.GetProperty("name").GetString());
        Assert.Equal("keep", patched.GetProperty("ownerRef").GetString());
        var refused = await (await Owner.PatchAsync($"/api/v1/devices/{serial}", Json("{\"group\":\"lobby\"}"))).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.True(refused.GetProperty("errors").TryGetProperty("group", out _));
    }

    [Fact]
    public async Task A_device_type_reported_in_the_inventory_becomes_the_devices_type()
    {
        var device = (await TestDevices.SeedAdmittedAsync(Tenant, 1, "typed"))[0];
        await (await device.PatchInventoryAsync([("device_type", "kiosk-v2"), ("artifact_name", "base")])).AssertStatusAsync(HttpStatusCode.NoContent);
        var read = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}")).JsonAsync();
        Assert.Equal("kiosk-v2", read.GetProperty("deviceType").GetString());
        // An operator's attribute write reporting the type does the same.
        await (await Owner.PatchAsync($"/api/v1/devices/{device.Serial}/attributes", Json("""[{"name":"device_type","value":"kiosk-v3","scope":"inventory"}]"""))).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("kiosk-v3", (await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}")).JsonAsync()).GetProperty("deviceType").GetString());
    }

    [Fact]
    public async Task Parallel_writes_without_if_match_all_land()
    {
        var serial = await CreateAsync();
        // Thirty writers, each its own attribute, plus tag and field writers on the same row: merged, never a 412.
        var writes = Enumerable.Range(0, 30).Select(i => Owner.PatchAsync($"/api/v1/devices/{serial}/attributes", Json($$"""[{"name":"a{{i}}","value":{{i}},"scope":"inventory"}]""")))
            .Append(Owner.PutAsync($"/api/v1/devices/{serial}/tags", Json("""{"tags":["parallel"]}""")))
            .Append(Owner.PatchAsync($"/api/v1/devices/{serial}", Json("""{"name":"renamed"}""")))
            .ToList();
        foreach (var response in await Task.WhenAll(writes)) await response.AssertStatusAsync(HttpStatusCode.OK);
        var attributes = await AttributesAsync(serial);
        Assert.All(Enumerable.Range(0, 30), i => Assert.Equal(i.ToString(), attributes[$"inventory.a{i}"]));
        var device = await (await Owner.GetAsync($"/api/v1/devices/{serial}")).JsonAsync();
        Assert.Equal("renamed", device.GetProperty("name").GetString());
        Assert.Equal(["parallel"], device.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task Attribute_patch_upserts_and_put_replaces_only_its_scope()
    {
        var serial = await CreateAsync();
        await (await Owner.PatchAsync($"/api/v1/devices/{serial}/attributes", Json("""
            [{"name":"os","value":"linux","scope":"inventory"},{"name":"cpu","value":4,"scope":"inventory"},{"name":"site","value":"berlin","scope":"tags"}]
            """))).AssertStatusAsync(HttpStatusCode.OK);
        await (await Owner.PatchAsync($"/api/v1/devices/{serial}/attributes", Json("""[{"name":"cpu","value":8,"scope":"inventory"}]"""))).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(new Dictionary<string, string> { ["inventory.cpu"] = "8", ["inventory.os"] = "linux", ["tags.site"] = "berlin" }, await AttributesAsync(serial));

        // PUT of the inventory scope replaces inventory and leaves tags alone.
        await (await Owner.PutAsync($"/api/v1/devices/{serial}/attributes", Json("""[{"name":"kernel","value":["6.1","lts"],"scope":"inventory"}]"""))).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(new Dictionary<string, string> { ["inventory.kernel"] = "[\"6.1\",\"lts\"]", ["tags.site"] = "berlin" }, await AttributesAsync(serial));

        // An empty PUT naming a scope clears that scope only.
        await (await Owner.PutAsync($"/api/v1/devices/{serial}/attributes?scope=tags", Json("[]"))).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(new Dictionary<string, string> { ["inventory.kernel"] = "[\"6.1\",\"lts\"]" }, await AttributesAsync(serial));
    }

    [Theory]
    [InlineData("""[{"name":"mixed","value":[1,"a"],"scope":"inventory"}]""", "[0].value")]
    [InlineData("""[{"name":"obj","value":{"a":1},"scope":"inventory"}]""", "[0].value")]
    [InlineData("""[{"name":"nul","value":null,"scope":"inventory"}]""", "[0].value")]
    [InlineData("""[{"name":"empty","value":[],"scope":"tags"}]""", "[0].value")]
    [InlineData("""[{"name":"bad name!","value":1,"scope":"tags"}]""", "[0].name")]
    [InlineData("""[{"name":"who","value":"me","scope":"identity"}]""", "[0].scope")]
    [InlineData("""[{"name":"noscope","value":1}]""", "[0].scope")]
    public async Task Bad_attributes_are_400_naming_the_attribute(string body, string field)
    {
        var serial = await CreateAsync();
        var error = await (await Owner.PatchAsync($"/api/v1/devices/{serial}/attributes", Json(body))).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.True(error.GetProperty("errors").TryGetProperty(field, out _), error.ToString());
        Assert.Empty(await AttributesAsync(serial));
    }

    [Fact]
    public async Task Attribute_limits_are_400()
    {
        var serial = await CreateAsync();
        var tooMany = "[" + string.Join(",", Enumerable.Range(0, 101).Select(i => $"{{\"name\":\"a{i}\",\"value\":{i},\"scope\":\"tags\"}}")) + "]";
        await (await Owner.PatchAsync($"/api/v1/devices/{serial}/attributes", Json(tooMany))).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        var tooLong = $"[{{\"name\":\"long\",\"value\":\"{new string('x', 1025)}\",\"scope\":\"tags\"}}]";
        await (await Owner.PatchAsync($"/api/v1/devices/{serial}/attributes", Json(tooLong))).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task Concurrent_patches_without_if_match_both_land()
    {
        var serial = await CreateAsync();
        var writes = Enumerable.Range(0, 8).Select(i =>
            Owner.PatchAsync($"/api/v1/devices/{serial}/attributes", Json($"[{{\"name\":\"k{i}\",\"value\":{i},\"scope\":\"tags\"}}]")));
        foreach (var r in await Task.WhenAll(writes)) await r.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(8, (await AttributesAsync(serial)).Count);
    }

    [Fact]
    public async Task Concurrent_patches_with_the_same_if_match_one_wins_one_gets_412()
    {
        var serial = await CreateAsync();
        var etag = (await Owner.GetAsync($"/api/v1/devices/{serial}")).Headers.ETag!.ToString();
        HttpRequestMessage Patch(string name)
        {
            var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/devices/{serial}") { Content = Json($"{{\"name\":\"{name}\"}}") };
            request.Headers.TryAddWithoutValidation("If-Match", etag);
            return request;
        }
        var results = await Task.WhenAll(Owner.SendAsync(Patch("first")), Owner.SendAsync(Patch("second")));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.PreconditionFailed], results.Select(r => r.StatusCode).Order());
        await results.Single(r => r.StatusCode == HttpStatusCode.PreconditionFailed).AssertErrorAsync(HttpStatusCode.PreconditionFailed, "precondition_failed");
        var winner = (await results.Single(r => r.IsSuccessStatusCode).JsonAsync()).GetProperty("name").GetString();
        Assert.Equal(winner, (await (await Owner.GetAsync($"/api/v1/devices/{serial}")).JsonAsync()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Tags_replace_and_filter()
    {
        var serial = await CreateAsync(new { tags = new[] { "old" } });
        var device = await (await Owner.PutAsJsonAsync($"/api/v1/devices/{serial}/tags", new { tags = new[] { "new", "eu" } })).JsonAsync();
        Assert.Equal(["new", "eu"], device.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        var listed = await (await Owner.GetAsync("/api/v1/devices?tag=eu")).JsonAsync();
        Assert.Contains(listed.GetProperty("data").EnumerateArray(), d => d.GetProperty("serial").GetString() == serial);
        var old = await (await Owner.GetAsync("/api/v1/devices?tag=old")).JsonAsync();
        Assert.DoesNotContain(old.GetProperty("data").EnumerateArray(), d => d.GetProperty("serial").GetString() == serial);
    }

    [Fact]
    public async Task Decommissioned_device_is_gone_and_its_serial_reusable()
    {
        var serial = await CreateAsync();
        await (await Owner.DeleteAsync($"/api/v1/devices/{serial}")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await Owner.GetAsync($"/api/v1/devices/{serial}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await Owner.DeleteAsync($"/api/v1/devices/{serial}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        var listed = await (await Owner.GetAsync("/api/v1/devices?status=decommissioned")).JsonAsync();
        Assert.Contains(listed.GetProperty("data").EnumerateArray(), d => d.GetProperty("serial").GetString() == serial);
        await (await Owner.PostAsJsonAsync("/api/v1/devices", new { serial, hardwareVersion = "rev-c" })).AssertStatusAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task OtherTenants_devices_do_not_exist()
    {
        var serial = await CreateAsync();
        var other = await Tenant.Server.CreateTenantAsync("dev-other");
        using var client = other.OwnerClient();
        await (await client.GetAsync($"/api/v1/devices/{serial}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await client.PatchAsync($"/api/v1/devices/{serial}", Json("{\"name\":\"mine\"}"))).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await client.DeleteAsync($"/api/v1/devices/{serial}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await client.GetAsync($"/api/v1/devices/{serial}/attributes")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        var list = await (await client.GetAsync("/api/v1/devices")).JsonAsync();
        Assert.Empty(list.GetProperty("data").EnumerateArray());
        // The same serial is free in the other tenant.
        await (await client.PostAsJsonAsync("/api/v1/devices", new { serial, hardwareVersion = "x" })).AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal("Lobby screen", (await (await Owner.GetAsync($"/api/v1/devices/{serial}")).JsonAsync()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Fleet_read_cannot_write()
    {
        var serial = await CreateAsync();
        using var reader = Tenant.Server.Client(await Tenant.CreateKeyAsync(Scopes.FleetRead));
        await (await reader.GetAsync($"/api/v1/devices/{serial}")).AssertStatusAsync(HttpStatusCode.OK);
        await (await reader.PostAsJsonAsync("/api/v1/devices", new { serial = "new-one", hardwareVersion = "x" })).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await reader.PatchAsync($"/api/v1/devices/{serial}", Json("{\"name\":\"x\"}"))).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await reader.DeleteAsync($"/api/v1/devices/{serial}")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await reader.PutAsJsonAsync($"/api/v1/devices/{serial}/tags", new { tags = new[] { "x" } })).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
    }
}
