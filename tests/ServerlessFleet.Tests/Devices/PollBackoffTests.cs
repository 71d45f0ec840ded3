using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Shared.Tenants;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Devices;

/// <summary>Server-driven polling: a device that keeps sending invalid reports is told to wait longer, and operators see why.</summary>
public sealed class PollBackoffTests() : TenantScopedTests("backoff")
{
    [Fact]
    public async Task Invalid_reports_double_the_poll_interval_until_a_valid_one_and_operators_see_the_count()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        for (var i = 0; i < 3; i++)
            await (await device.SendAsync(HttpMethod.Put, "/api/device/v1/deployments/0123456789abcdef/status", new { status = "exploded" }))
                .AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.Equal(3, (await DeviceAsync(device.Serial)).GetProperty("invalidReports").GetInt32());
        // 5 s (the test server's interval) doubled three times, ± 20 % jitter.
        Assert.All(await PollAftersAsync(device, 20), s => Assert.InRange(s, 32, 48));

        await (await device.PostTelemetryAsync([new { type = "battery", timestamp = DateTimeOffset.UtcNow, value = 80 }])).AssertStatusAsync(HttpStatusCode.NoContent);
        Assert.Equal(0, (await DeviceAsync(device.Serial)).GetProperty("invalidReports").GetInt32());
        Assert.All(await PollAftersAsync(device, 20), s => Assert.InRange(s, 4, 6));
    }

    [Fact]
    public async Task A_device_waiting_for_admission_is_told_to_wait_as_long_as_it_has_waited()
    {
        // Over HTTP: a new device is pending and told the minimum.
        var device = await TestDevices.NewAsync(Tenant);
        var first = await device.AuthenticateAsync();
        Assert.Equal((HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5)), (first.Status, first.RetryAfter));

        // The same sign-in on a clock the test moves: the wait told is the time waited, from the minimum up to the cap.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var services = Tenant.Server.Services;
        var storage = services.GetRequiredService<FleetStorage>();
        var options = services.GetRequiredService<IOptions<FleetOptions>>();
        var signIn = new DeviceSignIn(new TenantStore(storage, clock), new DeviceAdmission(storage, new ServerlessFleet.Shared.Devices.DeviceStore(storage, clock), services.GetRequiredService<DeviceTokens>(), clock), options);
        using var key = DeviceKey.Generate(KeyAlgorithm.EcdsaP256);
        var serial = $"wait-{Guid.NewGuid():n}"[..20];
        var body = System.Text.Encoding.UTF8.GetBytes($$"""{"serial":"{{serial}}"}""");
        var request = new SignedAuthRequest(body, key.Sign(body), serial, new JsonObject { ["serial"] = serial }, DevicePublicKey.TryParse(key.PublicKeyPem)!,
            await Tenant.TenantTokenAsync());
        var refusals = new SignInRefusals("bad signature", "unknown tenant", "pending", "not admitted");

        async Task<int?> RetryAfterAsync() =>
            (await Assert.ThrowsAsync<FleetException>(() => signIn.SignInAsync(request, refusals, default))).RetryAfterSeconds;

        Assert.Equal(5, await RetryAfterAsync());
        clock.Advance(TimeSpan.FromSeconds(7));
        Assert.Equal(7, await RetryAfterAsync());
        clock.Advance(TimeSpan.FromSeconds(7.5));
        Assert.Equal(15, await RetryAfterAsync());
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(options.Value.MaxPollBackoffSeconds, await RetryAfterAsync());
    }

    private async Task<System.Text.Json.JsonElement> DeviceAsync(string serial) =>
        await (await (await Owner.GetAsync($"/api/v1/devices/{serial}")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();

    private static async Task<IReadOnlyList<int>> PollAftersAsync(ServerlessFleet.DeviceClient.FleetDeviceClient device, int polls)
    {
        var seconds = new List<int>();
        for (var i = 0; i < polls; i++)
            seconds.Add((int)(await device.PollAsync()).PollAfter.TotalSeconds);
        return seconds;
    }
}
