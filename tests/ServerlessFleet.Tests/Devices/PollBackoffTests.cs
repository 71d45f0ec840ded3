using System.Net;
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
        var device = await TestDevices.NewAsync(Tenant);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var first = await device.AuthenticateAsync();
        Assert.Equal((HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5)), (first.Status, first.RetryAfter));
        await Task.Delay(TimeSpan.FromSeconds(7));
        var later = await device.AuthenticateAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, later.Status);
        // At least the 7 s slept, at most what really passed between the two requests (more when the machine is busy).
        Assert.InRange(later.RetryAfter!.Value.TotalSeconds, 7, Math.Ceiling(waited.Elapsed.TotalSeconds) + 1);
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
