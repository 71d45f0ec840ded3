using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Telemetry;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Telemetry;

public sealed class TelemetryTests() : TenantScopedTests("tele")
{
    [Fact]
    public async Task Batch_round_trips_history_latest_and_fleet_latest()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var now = DateTimeOffset.UtcNow;
        var samples = Enumerable.Range(0, 30).Select(i => (object)new { type = "battery", timestamp = now.AddMinutes(-i), value = 100 - i })
            .Append(new { type = "temperature", timestamp = now, value = 41.5 })
            .Append(new { type = "storage", timestamp = now, values = new { usedBytes = 10, totalBytes = 100 } })
            .Append(new { type = "metric.fps", timestamp = now, value = 59.9 })
            .Append(new { type = "location", timestamp = now, values = new { lat = 52.5, lon = 13.4 } });
        await (await device.PostTelemetryAsync(samples)).AssertStatusAsync(HttpStatusCode.NoContent);

        // History newest first, over pages.
        var first = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry?type=battery&limit=20")).JsonAsync();
        var second = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry?type=battery&after={Uri.EscapeDataString(first.GetProperty("nextPage").GetString()!)}")).JsonAsync();
        var values = first.GetProperty("data").EnumerateArray().Concat(second.GetProperty("data").EnumerateArray()).Select(s => s.GetProperty("value").GetDouble());
        Assert.Equal(Enumerable.Range(0, 30).Select(i => 100.0 - i), values);
        var window = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry?type=battery&since={Uri.EscapeDataString(now.AddMinutes(-5.5).ToString("O"))}&until={Uri.EscapeDataString(now.AddMinutes(-1.5).ToString("O"))}")).JsonAsync();
        Assert.Equal([98.0, 97, 96, 95], window.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("value").GetDouble()));

        var latest = (await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry/latest")).JsonAsync()).EnumerateArray().ToDictionary(s => s.GetProperty("type").GetString()!);
        Assert.Equal(100, latest["battery"].GetProperty("value").GetDouble());
        Assert.Equal(10, latest["storage"].GetProperty("values").GetProperty("usedBytes").GetDouble());
        Assert.Contains("location", latest.Keys); // the owner holds fleet:locate

        var other = await TestDevices.AdmittedAsync(Tenant);
        await (await other.PostTelemetryAsync([new { type = "battery", timestamp = now, value = 5 }])).AssertStatusAsync(HttpStatusCode.NoContent);
        var fleet = await (await Owner.GetAsync($"/api/v1/telemetry/latest?serial={device.Serial}&serial={other.Serial}&type=battery")).JsonAsync();
        Assert.Equal([100.0, 5.0], fleet.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("samples")[0].GetProperty("value").GetDouble()));
        var byGroup = await (await Owner.GetAsync("/api/v1/telemetry/latest?group=unassigned&type=battery")).JsonAsync();
        Assert.Equal(2, byGroup.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Older_sample_does_not_replace_the_latest()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var now = DateTimeOffset.UtcNow;
        await device.PostTelemetryAsync([new { type = "temperature", timestamp = now, value = 30 }]);
        await device.PostTelemetryAsync([new { type = "temperature", timestamp = now.AddMinutes(-10), value = 10 }]);
        var latest = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry/latest")).JsonAsync();
        Assert.Equal(30, latest[0].GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task Malformed_samples_are_400_naming_each_bad_index()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var now = DateTimeOffset.UtcNow;
        var response = await device.PostTelemetryAsync([
            new { type = "battery", timestamp = now, value = 50 },
            new { type = "battery", timestamp = now, value = 150 },
            new { type = "humidity", timestamp = now, value = 1 },
            new { type = "location", timestamp = now, values = new { lat = 100, lon = 0 } },
            new { type = "uptime", timestamp = now.AddDays(1), value = 1 },
        ]);
        var errors = (await response.AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error")).GetProperty("errors");
        Assert.Equal(["samples[1]", "samples[2].type", "samples[3]", "samples[4].timestamp"], errors.EnumerateObject().Select(e => e.Name).Order());
        var tooMany = Enumerable.Range(0, 501).Select(i => (object)new { type = "uptime", timestamp = now, value = i });
        await (await device.PostTelemetryAsync(tooMany)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.Empty((await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry/latest")).JsonAsync()).EnumerateArray());
    }

    [Fact]
    public async Task Location_needs_fleet_locate()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var now = DateTimeOffset.UtcNow;
        await device.PostTelemetryAsync([new { type = "location", timestamp = now, values = new { lat = 1, lon = 2 } }, new { type = "battery", timestamp = now, value = 3 }]);
        using var reader = Tenant.Server.Client(await Tenant.CreateKeyAsync("fleet:read"));
        await (await reader.GetAsync($"/api/v1/devices/{device.Serial}/telemetry?type=location")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await reader.GetAsync($"/api/v1/telemetry/latest?serial={device.Serial}&type=location")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        var latest = await (await reader.GetAsync($"/api/v1/devices/{device.Serial}/telemetry/latest")).JsonAsync();
        Assert.Equal(["battery"], latest.EnumerateArray().Select(s => s.GetProperty("type").GetString()));
        var fleet = await (await reader.GetAsync($"/api/v1/telemetry/latest?serial={device.Serial}")).JsonAsync();
        Assert.Equal(["battery"], fleet.GetProperty("data")[0].GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("type").GetString()));
        using var locator = Tenant.Server.Client(await Tenant.CreateKeyAsync("fleet:read", "fleet:locate"));
        await (await locator.GetAsync($"/api/v1/devices/{device.Serial}/telemetry?type=location")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Retention_drops_whole_expired_weeks_only()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var now = DateTimeOffset.UtcNow;
        await (await device.PostTelemetryAsync([
            new { type = "metric.retention", timestamp = now.AddDays(-29), value = 1 },
            new { type = "metric.retention", timestamp = now.AddDays(-1), value = 2 },
        ])).AssertStatusAsync(HttpStatusCode.NoContent);
        // The week of the old sample ended more than 22 days ago: its table goes, with one request, whatever it holds.
        var dropped = await Tenant.Server.Services.GetRequiredService<TelemetryStore>().DropWeeksBeforeAsync(now.AddDays(-22), default);
        Assert.Contains(TelemetryStore.WeekTable(now.AddDays(-29)), dropped);
        Assert.DoesNotContain(TelemetryStore.WeekTable(now.AddDays(-1)), dropped);
        Assert.DoesNotContain(TelemetryStore.WeekTable(now.AddDays(-22)), dropped);
        var history = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry?type=metric.retention")).JsonAsync();
        Assert.Equal([2.0], history.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("value").GetDouble()));
        var latest = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry/latest")).JsonAsync();
        Assert.Equal(2, latest[0].GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task History_pages_run_newest_first_across_weeks()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var now = DateTimeOffset.UtcNow;
        var samples = Enumerable.Range(0, 9).Select(i => new { type = "metric.weeks", timestamp = now.AddDays(-1.75 * i), value = i }).ToArray();
        await (await device.PostTelemetryAsync(samples)).AssertStatusAsync(HttpStatusCode.NoContent);
        var values = new List<double>();
        var first = $"/api/v1/devices/{device.Serial}/telemetry?type=metric.weeks&limit=2";
        for (string? next = "", url = first; next is not null; url = $"{first}&after={Uri.EscapeDataString(next ?? "")}")
        {
            var page = await (await (await Owner.GetAsync(url)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
            values.AddRange(page.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("value").GetDouble()));
            next = page.GetProperty("nextPage").GetString();
        }
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (double)i), values);
        var since = await (await Owner.GetAsync($"/api/v1/devices/{device.Serial}/telemetry?type=metric.weeks&since={Uri.EscapeDataString(now.AddDays(-4.5).ToString("O"))}")).JsonAsync();
        Assert.Equal([0.0, 1.0, 2.0], since.GetProperty("data").EnumerateArray().Select(s => s.GetProperty("value").GetDouble()));
    }

    [Fact]
    public async Task AnotherTenants_device_has_no_telemetry_here()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        await device.PostTelemetryAsync([new { type = "battery", timestamp = DateTimeOffset.UtcNow, value = 3 }]);
        var other = await Tenant.Server.CreateTenantAsync("tele-other");
        using var client = other.OwnerClient();
        await (await client.GetAsync($"/api/v1/devices/{device.Serial}/telemetry/latest")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        var fleet = await (await client.GetAsync($"/api/v1/telemetry/latest?serial={device.Serial}")).JsonAsync();
        Assert.Empty(fleet.GetProperty("data")[0].GetProperty("samples").EnumerateArray());
    }
}
