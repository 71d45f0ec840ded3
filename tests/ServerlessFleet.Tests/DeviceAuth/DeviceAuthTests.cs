using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.DeviceAuth;

public sealed class DeviceAuthTests() : TenantScopedTests("auth-dev")
{
    private async Task<JsonElement[]> AuthSetsAsync(string serial) =>
        (await (await Owner.GetAsync("/api/v1/device-auth?limit=500")).JsonAsync()).GetProperty("data").EnumerateArray()
            .Where(s => s.GetProperty("serial").GetString() == serial).ToArray();

    private async Task AssertNothingStoredAsync(string serial)
    {
        Assert.Empty(await AuthSetsAsync(serial));
        await (await Owner.GetAsync($"/api/v1/devices/{serial}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [InlineData(KeyAlgorithm.Rsa2048, false)]
    [InlineData(KeyAlgorithm.EcdsaP256, false)]
    [InlineData(KeyAlgorithm.EcdsaP256, true)]
    [InlineData(KeyAlgorithm.Ed25519, false)]
    public async Task Full_flow_pending_accept_token_for_each_key_type(KeyAlgorithm algorithm, bool rawEcdsa)
    {
        var device = await TestDevices.NewAsync(Tenant, algorithm, rawEcdsa: rawEcdsa);
        Assert.Equal(HttpStatusCode.Unauthorized, (await device.AuthenticateAsync()).Status);
        var set = Assert.Single(await AuthSetsAsync(device.Serial));
        Assert.Equal("pending", set.GetProperty("status").GetString());
        var stored = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}")).JsonAsync();
        Assert.Equal("pending", stored.GetProperty("status").GetString());
        Assert.Equal("rev-a", stored.GetProperty("hardwareVersion").GetString());

        await TestDevices.AcceptAsync(Tenant, device.Serial);
        var auth = await device.AuthenticateAsync();
        Assert.Equal(HttpStatusCode.OK, auth.Status);
        Assert.True(auth.ExpiresAt > DateTimeOffset.UtcNow.AddHours(23));

        await (await device.PatchInventoryAsync([("artifact_name", "rel-7"), ("cpu_count", 4)])).AssertStatusAsync(HttpStatusCode.NoContent);
        var after = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}")).JsonAsync();
        Assert.Equal("accepted", after.GetProperty("status").GetString());
        Assert.Equal("rel-7", after.GetProperty("release").GetString());
        Assert.Contains(after.GetProperty("attributes").EnumerateArray(), a => a.GetProperty("scope").GetString() == "identity" && a.GetProperty("name").GetString() == "serial");
    }

    [Fact]
    public async Task Wrong_key_and_replayed_signature_are_401_and_store_nothing()
    {
        // Signed by a key other than the one in the body.
        var device = await TestDevices.NewAsync(Tenant);
        using var wrongKey = DeviceKey.Generate(KeyAlgorithm.EcdsaP256);
        await (await device.SendAuthAsync(device.AuthBody(), Convert.ToBase64String(wrongKey.Sign(device.AuthBody()))))
            .AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");

        // A genuine signature of another device's body, replayed on this one.
        using var otherKey = DeviceKey.Generate(KeyAlgorithm.Ed25519);
        var other = new FleetDeviceClient(Tenant.Server.Client(), await Tenant.TenantTokenAsync(), $"other-{Guid.NewGuid():n}"[..20], otherKey);
        var replayed = await TestDevices.NewAsync(Tenant, KeyAlgorithm.Ed25519);
        await (await replayed.SendAuthAsync(replayed.AuthBody(), Convert.ToBase64String(otherKey.Sign(other.AuthBody()))))
            .AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");

        // No signature at all.
        await (await device.SendAuthAsync(device.AuthBody(), "not base64!")).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");

        foreach (var serial in new[] { device.Serial, replayed.Serial, other.Serial }) await AssertNothingStoredAsync(serial);
    }

    [Fact]
    public async Task A_signature_over_the_original_body_does_not_cover_a_tampered_one()
    {
        var key = DeviceKey.Generate(KeyAlgorithm.Rsa2048);
        var device = new FleetDeviceClient(Tenant.Server.Client(), await Tenant.TenantTokenAsync(), $"tamper-{Guid.NewGuid():n}"[..20], key);
        var body = device.AuthBody();
        var signature = Convert.ToBase64String(key.Sign(body));
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("\"serial\":\"tamper-", "\"serial\":\"tampeR-"));
        await (await device.SendAuthAsync(tampered, signature)).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
        await AssertNothingStoredAsync(device.Serial);
        await AssertNothingStoredAsync(device.Serial.Replace("tamper-", "tampeR-"));
        // The untampered body with its own signature is fine.
        await (await device.SendAuthAsync(body, signature)).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
        Assert.Single(await AuthSetsAsync(device.Serial));
    }

    [Fact]
    public async Task UnknownTenant_token_is_401_and_malformed_pem_is_400_storing_nothing()
    {
        using var key = DeviceKey.Generate(KeyAlgorithm.Ed25519);
        var stranger = new FleetDeviceClient(Tenant.Server.Client(), "tt_not-a-tenant", $"lost-{Guid.NewGuid():n}"[..20], key);
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.AuthenticateAsync()).Status);
        await AssertNothingStoredAsync(stranger.Serial);

        var body = Encoding.UTF8.GetBytes($"{{\"identity\":{{\"serial\":\"pem-1\"}},\"publicKey\":\"-----BEGIN PUBLIC KEY-----\\nnope\\n-----END PUBLIC KEY-----\",\"tenantToken\":\"{await Tenant.TenantTokenAsync()}\"}}");
        await (await stranger.SendAuthAsync(body, Convert.ToBase64String(key.Sign(body)))).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await AssertNothingStoredAsync("pem-1");
    }

    [Fact]
    public async Task Preauthorized_device_is_accepted_on_first_request()
    {
        using var key = DeviceKey.Generate(KeyAlgorithm.Rsa2048);
        var serial = $"pre-{Guid.NewGuid():n}"[..20];
        var created = await Owner.PostAsJsonAsync("/api/v1/device-auth/preauthorize", new { identity = new { serial }, publicKey = key.PublicKeyPem });
        await created.AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal("preauthorized", (await (await Owner.GetAsync($"/api/v1/devices/{serial}")).JsonAsync()).GetProperty("status").GetString());
        await (await Owner.PostAsJsonAsync("/api/v1/device-auth/preauthorize", new { identity = new { serial }, publicKey = key.PublicKeyPem })).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");

        var device = new FleetDeviceClient(Tenant.Server.Client(), await Tenant.TenantTokenAsync(), serial, key);
        Assert.Equal(HttpStatusCode.OK, (await device.AuthenticateAsync()).Status);
        Assert.Equal("accepted", (await (await Owner.GetAsync($"/api/v1/devices/{serial}")).JsonAsync()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Rejected_device_is_401_and_its_old_token_stops_working()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        await (await device.PatchInventoryAsync([("a", 1)])).AssertStatusAsync(HttpStatusCode.NoContent);
        await TestDevices.AcceptAsync(Tenant, device.Serial, "rejected");
        Assert.Equal(HttpStatusCode.Unauthorized, (await device.SendOnceAsync(HttpMethod.Patch, "/api/device/v1/inventory", new[] { new { name = "a", value = 2 } }, default)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await device.AuthenticateAsync()).Status);
        // Rejected → accepted is allowed again; tokens issued before the rejection stay dead.
        var oldToken = device.Token;
        await TestDevices.AcceptAsync(Tenant, device.Serial);
        // Re-admitted in the same second as the rejection: the new token works at once.
        Assert.Equal(HttpStatusCode.OK, (await device.AuthenticateAsync()).Status);
        Assert.NotEqual(oldToken, device.Token);
        using (var fresh = Tenant.Server.Client())
        {
            fresh.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", device.Token);
            Assert.Equal(HttpStatusCode.NoContent, (await fresh.PatchAsJsonAsync("/api/device/v1/inventory", new[] { new { name = "a", value = 2 } })).StatusCode);
        }
        using var stale = Tenant.Server.Client();
        stale.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", oldToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await stale.PatchAsJsonAsync("/api/device/v1/inventory", new[] { new { name = "a", value = 3 } })).StatusCode);
    }

    [Fact]
    public async Task Revoked_token_is_401_until_the_device_authenticates_again()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var jti = JsonDocument.Parse(Base64UrlDecode(device.Token!.Split('.')[1])).RootElement.GetProperty("jti").GetString();
        await (await Owner.DeleteAsync($"/api/v1/device-auth/tokens/{jti}")).AssertStatusAsync(HttpStatusCode.NoContent);
        var refused = await device.SendOnceAsync(HttpMethod.Patch, "/api/device/v1/inventory", new[] { new { name = "a", value = 1 } }, default);
        await refused.AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
        // The client library re-authenticates on 401 and carries on with a new token.
        await (await device.PatchInventoryAsync([("a", 2)])).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await Owner.DeleteAsync("/api/v1/device-auth/tokens/nonexistent")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Device_tokens_and_api_keys_are_not_interchangeable()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        using var withDeviceToken = Tenant.Server.Client(device.Token);
        await (await withDeviceToken.GetAsync("/api/v1/devices")).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
        await (await Owner.PatchAsJsonAsync("/api/device/v1/inventory", new[] { new { name = "a", value = 1 } })).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
        await (await Owner.PostAsJsonAsync("/api/device/v1/telemetry", new { samples = Array.Empty<object>() })).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
    }

    [Fact]
    public async Task Invalid_transitions_are_409()
    {
        var device = await TestDevices.NewAsync(Tenant);
        await device.AuthenticateAsync();
        var set = (await AuthSetsAsync(device.Serial)).Single().GetProperty("id").GetString();
        await (await Owner.PutAsJsonAsync($"/api/v1/devices/{device.Serial}/auth/{set}/status", new { status = "preauthorized" })).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await Owner.PutAsJsonAsync($"/api/v1/devices/{device.Serial}/auth/{set}/status", new { status = "rejected" })).AssertStatusAsync(HttpStatusCode.OK);
        await (await Owner.PutAsJsonAsync($"/api/v1/devices/{device.Serial}/auth/nope/status", new { status = "accepted" })).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");

        using var key = DeviceKey.Generate(KeyAlgorithm.Ed25519);
        var serial = $"pre2-{Guid.NewGuid():n}"[..20];
        var pre = await (await Owner.PostAsJsonAsync("/api/v1/device-auth/preauthorize", new { identity = new { serial }, publicKey = key.PublicKeyPem })).JsonAsync();
        await (await Owner.PutAsJsonAsync($"/api/v1/devices/{serial}/auth/{pre.GetProperty("id").GetString()}/status", new { status = "accepted" }))
            .AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Counting_and_theTenants_device_limit()
    {
        using var bootstrap = Tenant.Server.Client(FleetServer.BootstrapKey);
        var limited = await (await bootstrap.PostAsJsonAsync("/api/v1/tenants", new { tenantId = $"lim-{Guid.NewGuid():n}"[..20], maxDevices = 1 })).JsonAsync();
        var tenant = new TestTenant(Tenant.Server, limited.GetProperty("tenant").GetProperty("tenantId").GetString()!, limited.GetProperty("ownerKey").GetProperty("secret").GetString()!);
        await TestDevices.AdmittedAsync(tenant);
        var second = await TestDevices.NewAsync(tenant);
        await second.AuthenticateAsync();
        using var owner = tenant.OwnerClient();
        var set = (await (await owner.GetAsync("/api/v1/device-auth?status=pending")).JsonAsync()).GetProperty("data")[0].GetProperty("id").GetString();
        await (await owner.PutAsJsonAsync($"/api/v1/devices/{second.Serial}/auth/{set}/status", new { status = "accepted" })).AssertErrorAsync(HttpStatusCode.UnprocessableEntity, "unprocessable");

        Assert.Equal(1, (await (await owner.GetAsync("/api/v1/device-auth/count?status=accepted")).JsonAsync()).GetProperty("count").GetInt32());
        Assert.Equal(1, (await (await owner.GetAsync("/api/v1/device-auth/count?status=pending")).JsonAsync()).GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Heartbeat_writes_last_seen_at_most_once_per_window()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var counter = Tenant.Server.Services.GetRequiredService<StorageRequestCounter>();
        var partition = DeviceKeys.Partition(Tenant.TenantId, device.Serial);
        await (await device.PostTelemetryAsync([new { type = "uptime", timestamp = DateTimeOffset.UtcNow, value = 1 }])).AssertStatusAsync(HttpStatusCode.NoContent);
        var seen = (await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}")).JsonAsync()).GetProperty("lastSeen").GetDateTimeOffset();
        Assert.True(seen > DateTimeOffset.UtcNow.AddMinutes(-1));

        var (reads, writes) = (counter.EntityReads(DeviceKeys.TableName, partition), counter.EntityWrites(DeviceKeys.TableName, partition));
        for (var i = 0; i < 10; i++)
            await (await device.PostTelemetryAsync([new { type = "uptime", timestamp = DateTimeOffset.UtcNow, value = i }])).AssertStatusAsync(HttpStatusCode.NoContent);
        Assert.Equal(10, counter.EntityReads(DeviceKeys.TableName, partition) - reads);
        Assert.Equal(0, counter.EntityWrites(DeviceKeys.TableName, partition) - writes);
        Assert.Equal(seen, (await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}")).JsonAsync()).GetProperty("lastSeen").GetDateTimeOffset());
    }

    [Fact]
    public async Task Decommissioned_device_cannot_use_its_token_and_comes_back_pending()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        await (await Owner.DeleteAsync($"/api/v1/devices/{device.Serial}")).AssertStatusAsync(HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.Unauthorized, (await device.SendOnceAsync(HttpMethod.Patch, "/api/device/v1/inventory", new[] { new { name = "a", value = 1 } }, default)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await device.AuthenticateAsync()).Status);
        Assert.Equal("pending", (await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}")).JsonAsync()).GetProperty("status").GetString());
    }

    private static byte[] Base64UrlDecode(string s) =>
        Convert.FromBase64String(s.Replace('-', '+').Replace('_', '/') + new string('=', (4 - s.Length % 4) % 4));
}
