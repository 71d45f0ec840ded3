using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>Simulated devices of a test tenant, using the device client library like a real device would.</summary>
public static class TestDevices
{
    public static async Task<FleetDeviceClient> NewAsync(TestTenant tenant, KeyAlgorithm algorithm = KeyAlgorithm.EcdsaP256, string? serial = null, bool rawEcdsa = false)
    {
        var key = DeviceKey.Generate(algorithm, rawEcdsa);
        return new FleetDeviceClient(tenant.Server.Client(), await tenant.TenantTokenAsync(), serial ?? $"dev-{Guid.NewGuid():n}"[..20], key,
            new System.Text.Json.Nodes.JsonObject { ["hardware_version"] = "rev-a", ["device_type"] = "screen" });
    }

    /// <summary>First contact (pending), the operator accepts, the device authenticates: an admitted device with a token.</summary>
    public static async Task<FleetDeviceClient> AdmittedAsync(TestTenant tenant, KeyAlgorithm algorithm = KeyAlgorithm.EcdsaP256, string? serial = null)
    {
        var device = await NewAsync(tenant, algorithm, serial);
        Assert.Equal(HttpStatusCode.Unauthorized, (await device.AuthenticateAsync()).Status);
        await AcceptAsync(tenant, device.Serial);
        Assert.Equal(HttpStatusCode.OK, (await device.AuthenticateAsync()).Status);
        return device;
    }

    /// <summary>Many admitted devices at once: rows written through the store, tokens issued in-process.</summary>
    public static async Task<IReadOnlyList<FleetDeviceClient>> SeedAdmittedAsync(TestTenant tenant, int count, string prefix, string? group = null)
    {
        var services = tenant.Server.Services;
        var store = services.GetRequiredService<DeviceStore>();
        var tokens = services.GetRequiredService<DeviceTokens>();
        var clients = new FleetDeviceClient[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var serial = $"{prefix}-{i:D5}";
            await store.CreateAsync(tenant.TenantId, new NewDevice(serial, null, null, "rev-a", "screen", group ?? "unassigned", []), ct);
            await store.UpdateAsync(tenant.TenantId, serial, d => d with { Status = DeviceStatuses.Accepted }, null, ct);
            clients[i] = new FleetDeviceClient(tenant.Server.Client(), "", serial, DeviceKey.Generate(KeyAlgorithm.Ed25519))
                .UseToken(tokens.Issue(tenant.TenantId, serial).Token);
        });
        return clients;
    }

    public static async Task<string> AcceptAsync(TestTenant tenant, string serial, string status = "accepted")
    {
        using var owner = tenant.OwnerClient();
        var sets = await (await owner.GetAsync("/api/v1/device-auth?limit=500")).Content.ReadFromJsonAsync<JsonElement>();
        var set = sets.GetProperty("data").EnumerateArray().Last(s => s.GetProperty("serial").GetString() == serial).GetProperty("id").GetString()!;
        (await owner.PutAsJsonAsync($"/api/v1/devices/{serial}/auth/{set}/status", new { status })).EnsureSuccessStatusCode();
        return set;
    }
}
