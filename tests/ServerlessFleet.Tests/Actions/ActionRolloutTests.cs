using System.Net;
using System.Text.Json;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Actions;

/// <summary>Bulk actions over time: rolling batches at scale, the stop threshold, and expiry (paused or not).</summary>
public sealed class ActionRolloutTests() : ActionTestBase("actroll")
{
    [Fact]
    public async Task A_1000_device_action_in_rolling_batches_completes_with_exact_counts()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 1000, "big", "fleet-1000");
        var action = await CreateAsync(Owner, new { type = "reboot", group = "fleet-1000", rollout = new { batchSize = 250, batchDelaySeconds = 1 } });
        var id = action.GetProperty("id").GetString()!;
        Assert.Equal(1000, action.GetProperty("progress").GetProperty("total").GetInt32());

        await AnswerUntilDoneAsync(id, devices, d => d.Serial.EndsWith('7') ? DeviceActionStatuses.Failed : DeviceActionStatuses.Succeeded);
        var done = await WaitForStatusAsync(id, ActionStatuses.PartiallyFailed);
        var progress = done.GetProperty("progress");
        Assert.Equal((1000, 1000, 900, 100, 0), (progress.GetProperty("total").GetInt32(), progress.GetProperty("delivered").GetInt32(),
            progress.GetProperty("succeeded").GetInt32(), progress.GetProperty("failed").GetInt32(), progress.GetProperty("timedOut").GetInt32()));

        var records = await (await Owner.GetAsync($"/api/v1/actions/{id}/devices?limit=500")).JsonAsync();
        var first = records.GetProperty("data")[0];
        Assert.NotEqual(JsonValueKind.Null, first.GetProperty("deliveredAt").ValueKind);
        Assert.Equal(JsonValueKind.Number, first.GetProperty("seq").ValueKind);
        var history = await (await Owner.GetAsync($"/api/v1/devices/{devices[7].Serial}/actions")).JsonAsync();
        Assert.Equal("failed", Assert.Single(history.GetProperty("data").EnumerateArray()).GetProperty("status").GetString());
    }
    [Fact]
    public async Task Stop_threshold_stops_releasing_at_the_failure_percentage()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 20, "stop", "stop-group");
        var id = (await CreateAsync(Owner, new { type = "app-restart", group = "stop-group", rollout = new { batchSize = 5, batchDelaySeconds = 60, stopThresholdPercent = 50 } }))
            .GetProperty("id").GetString()!;
        // The threshold is judged on answers in before the next release; a delay longer than answering takes under load
        // keeps the second batch from going out while the first one's failures are still on their way.
        await AnswerUntilDoneAsync(id, devices, _ => DeviceActionStatuses.Failed);
        var done = await WaitForStatusAsync(id, ActionStatuses.Failed);
        var progress = done.GetProperty("progress");
        // The first batch failed entirely (100 % ≥ 50 %): the other 15 devices never got the command.
        Assert.Equal(5, progress.GetProperty("failed").GetInt32());
        Assert.Equal(15, progress.GetProperty("canceled").GetInt32());
        Assert.Equal(5, progress.GetProperty("delivered").GetInt32());
    }
    [Fact]
    public async Task Unanswered_devices_time_out()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 3, "silent");
        // Half a minute: time enough for the delivery to land on a busy machine before the action expires.
        var id = (await CreateAsync(Owner, new { type = "check-update", devices = devices.Select(d => d.Serial), expiresInMinutes = 0.5 })).GetProperty("id").GetString()!;
        await Eventually.WaitAsync(() => InboxAsync(devices[0]), e => e.Count == 1, Timeout, "delivery");
        var done = await WaitForStatusAsync(id, ActionStatuses.Failed);
        Assert.Equal(3, done.GetProperty("progress").GetProperty("timedOut").GetInt32());
        await (await devices[0].SendOnceAsync(HttpMethod.Post, $"/api/device/v1/actions/{id}/result", new { status = "succeeded" }, default))
            .AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
    }
    [Fact]
    public async Task A_paused_action_still_ends_at_its_expiry()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 4, "expire-paused", "expire-paused");
        var id = (await CreateAsync(Owner, new { type = "refresh", group = "expire-paused", expiresInMinutes = 0.2, rollout = new { batchSize = 2, batchDelaySeconds = 3600 } }))
            .GetProperty("id").GetString()!;
        await Eventually.WaitAsync(() => ActionAsync(id), a => a.GetProperty("progress").GetProperty("delivered").GetInt32() == 2, Timeout, "the first batch");
        await (await Owner.PostAsync($"/api/v1/actions/{id}:pause", null)).AssertStatusAsync(HttpStatusCode.OK);

        // Nobody answered and the second batch was never released: at expiry every device times out and the action ends.
        var done = await WaitForStatusAsync(id, ActionStatuses.Failed);
        Assert.Equal(4, done.GetProperty("progress").GetProperty("timedOut").GetInt32());
        foreach (var device in devices) Assert.Empty(await InboxAsync(device));
    }
}
