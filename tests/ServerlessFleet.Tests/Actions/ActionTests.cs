using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Actions;

public sealed class ActionTests() : TenantScopedTests("act")
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    /// <summary>
    /// How long a bulk action may make no progress before its test fails: longer than a task-hub partition takes to come
    /// back to the host after its lease lapsed on a saturated emulator (lease expiry plus the message visibility timeout).
    /// </summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromMinutes(4);

    private async Task<JsonElement> CreateAsync(HttpClient client, object body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/actions") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await (await client.SendAsync(request)).AssertStatusAsync(HttpStatusCode.Accepted);
        Assert.StartsWith("/api/v1/actions/", response.Headers.Location!.ToString());
        return await response.JsonAsync();
    }

    private async Task<JsonElement> ActionAsync(string id) => await (await Owner.GetAsync($"/api/v1/actions/{id}")).JsonAsync();

    private async Task<JsonElement> CustomStatusAsync(string orchestration) =>
        (await (await Owner.GetAsync($"/api/v1/orchestrations/{orchestration}")).JsonAsync()).GetProperty("customStatus");

    private Task<JsonElement> WaitForStatusAsync(string id, params string[] statuses) =>
        Eventually.WaitAsync(() => ActionAsync(id), a => statuses.Contains(a.GetProperty("status").GetString()), Timeout, $"action {id} to be {string.Join("|", statuses)}");

    private static async Task<IReadOnlyList<JsonElement>> InboxAsync(FleetDeviceClient device, long afterSeq = 0) =>
        (await (await (await device.SendOnceAsync(HttpMethod.Get, $"/api/device/v1/actions?afterSeq={afterSeq}", null, default)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync())
            .EnumerateArray().ToList();

    private static async Task ConfirmAsync(FleetDeviceClient device, string actionId, string status, string? detail = null) =>
        await (await device.SendOnceAsync(HttpMethod.Post, $"/api/device/v1/actions/{actionId}/result", new { status, detail }, default)).AssertStatusAsync(HttpStatusCode.NoContent);

    /// <summary>Simulated devices: each one with a delivered command reads its inbox and answers, until the action ends.</summary>
    private async Task AnswerUntilDoneAsync(string actionId, IReadOnlyList<FleetDeviceClient> devices, Func<FleetDeviceClient, string> answer)
    {
        var store = Tenant.Server.Services.GetRequiredService<ActionStore>();
        var bySerial = devices.ToDictionary(d => d.Serial);
        // The deadline is for a stall, not for the whole run: every answered round moves it, so a busy machine that
        // answers slowly still finishes, while an action that stops moving fails within the timeout.
        var deadline = DateTime.UtcNow + StallTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var delivered = await store.RecordsAsync(Tenant.TenantId, actionId, DeviceActionStatuses.Delivered);
            if (delivered.Count > 0) deadline = DateTime.UtcNow + StallTimeout;
            await Parallel.ForEachAsync(delivered, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (record, _) =>
            {
                var device = bySerial[record.Serial];
                var entry = (await InboxAsync(device)).Single(e => e.GetProperty("actionId").GetString() == actionId);
                await ConfirmAsync(device, actionId, answer(device), $"done by {device.Serial}");
                Assert.True(entry.GetProperty("seq").GetInt64() > 0);
            });
            var status = (await ActionAsync(actionId)).GetProperty("status").GetString();
            if (status is not (ActionStatuses.Pending or ActionStatuses.Running)) return;
            if (delivered.Count == 0) await Task.Delay(200);
        }
        var records = await store.RecordsAsync(Tenant.TenantId, actionId);
        var byStatus = string.Join(", ", records.GroupBy(r => r.Status).Select(g => $"{g.Key} {g.Count()}"));
        var instance = (await ActionAsync(actionId)).GetProperty("orchestrationId").GetString();
        var orchestration = await (await Owner.GetAsync($"/api/v1/orchestrations/{Uri.EscapeDataString(instance!)}")).Content.ReadAsStringAsync();
        Assert.Fail($"The action made no progress for {StallTimeout.TotalSeconds} s; its records: {byStatus}; its orchestration: {orchestration}. The host said:\n{Tenant.Server.Host.RecentOutput}");
    }

    [Fact]
    public async Task Reading_an_inbox_with_nothing_new_costs_no_read_beyond_authentication()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var created = await CreateAsync(Owner, new { type = "refresh", devices = new[] { device.Serial } });
        var id = created.GetProperty("id").GetString()!;
        var entry = await Eventually.WaitAsync(() => InboxAsync(device), e => e.Count == 1, Timeout, "delivery");
        var seq = entry[0].GetProperty("seq").GetInt64();

        var counter = Tenant.Server.Services.GetRequiredService<StorageRequestCounter>();
        var partition = ServerlessFleet.Shared.Devices.DeviceKeys.Partition(Tenant.TenantId, device.Serial);
        var table = ServerlessFleet.Shared.Devices.DeviceKeys.TableName;
        var (reads, queries) = (counter.EntityReads(table, partition), counter.PartitionQueries(table, partition));
        Assert.Empty(await InboxAsync(device, afterSeq: seq));
        Assert.Equal(1, counter.EntityReads(table, partition) - reads);
        Assert.Equal(0, counter.PartitionQueries(table, partition) - queries);
        Assert.Equal(id, Assert.Single(await InboxAsync(device, afterSeq: seq - 1)).GetProperty("actionId").GetString());
    }

    [Fact]
    public async Task A_poll_tells_the_device_whether_its_inbox_has_something_new()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        var quiet = await device.PollAsync();
        Assert.Equal(0, quiet.InboxSeq);
        Assert.False(quiet.HasNewActions(handledSeq: 0));

        var id = (await CreateAsync(Owner, new { type = "refresh", devices = new[] { device.Serial } })).GetProperty("id").GetString()!;
        var told = await Eventually.WaitAsync(() => device.PollAsync(), p => p.InboxSeq > 0, Timeout, "a poll that sees the delivery");
        Assert.True(told.HasNewActions(handledSeq: 0));
        var entry = Assert.Single(await InboxAsync(device));
        Assert.Equal(id, entry.GetProperty("actionId").GetString());
        Assert.Equal(told.InboxSeq, entry.GetProperty("seq").GetInt64());
        Assert.False(told.HasNewActions(handledSeq: entry.GetProperty("seq").GetInt64()));
    }

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
    public async Task Pause_holds_undelivered_batches_resume_continues_and_cancel_withdraws()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 30, "pause", "paused-group");
        var id = (await CreateAsync(Owner, new { type = "refresh", group = "paused-group", rollout = new { batchSize = 10, batchDelaySeconds = 4 } })).GetProperty("id").GetString()!;
        await Eventually.WaitAsync(() => ActionAsync(id), a => a.GetProperty("progress").GetProperty("delivered").GetInt32() >= 10, Timeout, "the first batch");
        // Answered with the state after the change, which the first read shows too.
        var paused = await (await Owner.PostAsync($"/api/v1/actions/{id}:pause", null)).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(ActionStatuses.Paused, (await paused.JsonAsync()).GetProperty("status").GetString());
        Assert.Equal(ActionStatuses.Paused, (await ActionAsync(id)).GetProperty("status").GetString());
        // A repeated pause is the same pause: no second command reaches the orchestration.
        var again = await (await Owner.PostAsync($"/api/v1/actions/{id}:pause", null)).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(ActionStatuses.Paused, (await again.JsonAsync()).GetProperty("status").GetString());
        var pauses = await (await Owner.GetAsync($"/api/v1/audit-logs?action=action.pause&objectId={id}")).JsonAsync();
        Assert.Single(pauses.GetProperty("data").EnumerateArray());
        // A batch released just before the pause still arrives; nothing after it does. The orchestration's own status
        // says when it last decided: once a decision more than a batch delay after the pause has passed, the batches
        // released are the ones it will have released, and all of them are delivered.
        var orchestration = (await ActionAsync(id)).GetProperty("orchestrationId").GetString()!;
        var pausedAt = DateTimeOffset.UtcNow;
        var settled = await Eventually.WaitAsync(() => CustomStatusAsync(orchestration),
            c => c.GetProperty("at").GetDateTimeOffset() > pausedAt.AddSeconds(5), Timeout, "a decision past the batch delay");
        Assert.Equal("paused", settled.GetProperty("phase").GetString());
        var released = settled.GetProperty("nextBatch").GetInt32();
        Assert.InRange(released, 1, 2);
        await Eventually.WaitAsync(() => ActionAsync(id), a => a.GetProperty("progress").GetProperty("delivered").GetInt32() == released * 10, Timeout, "the released batches");
        var later = await Eventually.WaitAsync(() => CustomStatusAsync(orchestration),
            c => c.GetProperty("at").GetDateTimeOffset() > settled.GetProperty("at").GetDateTimeOffset(), Timeout, "another decision while paused");
        Assert.Equal(released, later.GetProperty("nextBatch").GetInt32());
        var held = (await ActionAsync(id)).GetProperty("progress").GetProperty("delivered").GetInt32();
        Assert.Equal(released * 10, held);

        var resumed = await (await Owner.PostAsync($"/api/v1/actions/{id}:resume", null)).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(ActionStatuses.Running, (await resumed.JsonAsync()).GetProperty("status").GetString());
        await (await Owner.PostAsync($"/api/v1/actions/{id}:resume", null)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await Eventually.WaitAsync(() => ActionAsync(id), a => a.GetProperty("progress").GetProperty("delivered").GetInt32() > held, Timeout, "more batches after resume");

        var canceled = await (await (await Owner.PostAsync($"/api/v1/actions/{id}:cancel", null)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal(ActionStatuses.Canceled, canceled.GetProperty("status").GetString());
        Assert.Equal(30, canceled.GetProperty("progress").GetProperty("canceled").GetInt32());
        // A delivery that raced the cancel withdraws its own entry once it sees the record canceled.
        foreach (var device in devices) await Eventually.WaitAsync(() => InboxAsync(device), entries => entries.Count == 0, Timeout, $"{device.Serial}'s inbox withdrawn");
        await (await Owner.PostAsync($"/api/v1/actions/{id}:resume", null)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
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

    [Fact]
    public async Task Redelivered_message_leaves_one_inbox_entry_and_repeated_confirmations_change_nothing()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 1, "redeliver");
        var device = devices[0];
        var id = (await CreateAsync(Owner, new { type = "set-volume", devices = new[] { device.Serial }, @params = new { volume = 30 } })).GetProperty("id").GetString()!;
        var queue = Tenant.Server.Services.GetRequiredService<FleetStorage>().Queue(ActionService.DeliveryQueue);
        var settled = new List<Task>();
        for (var i = 0; i < 5; i++)
        {
            var sent = await queue.SendMessageAsync(JsonSerializer.Serialize(new DeliveryMessage(Tenant.TenantId, id, [device.Serial])));
            // The host deletes a message once the function succeeded with it: each redelivery has then run to the end.
            settled.Add(Tenant.Server.Queues.SeenAsync((method, address) => method == "DELETE" && address.AbsolutePath.EndsWith($"/messages/{sent.Value.MessageId}")));
        }
        await Task.WhenAll(settled).WaitAsync(Timeout);
        await Eventually.WaitAsync(() => ActionAsync(id), a => a.GetProperty("progress").GetProperty("delivered").GetInt32() == 1, Timeout, "delivery");
        var entries = await InboxAsync(device);
        var entry = Assert.Single(entries);
        Assert.Equal(30, entry.GetProperty("params").GetProperty("volume").GetInt32());

        // A second action gets the next sequence number.
        var second = (await CreateAsync(Owner, new { type = "refresh", devices = new[] { device.Serial } })).GetProperty("id").GetString()!;
        await Eventually.WaitAsync(() => InboxAsync(device), e => e.Count == 2, Timeout, "second delivery");
        Assert.Equal(entry.GetProperty("seq").GetInt64() + 1, (await InboxAsync(device, entry.GetProperty("seq").GetInt64())).Single().GetProperty("seq").GetInt64());

        await ConfirmAsync(device, id, "succeeded", "ok");
        var before = (await (await Owner.GetAsync($"/api/v1/actions/{id}/devices")).JsonAsync()).GetProperty("data")[0];
        await ConfirmAsync(device, id, "succeeded", "ok");
        // A repeat that adds nothing (no detail) is the same confirmation too; another detail contradicts the first.
        await ConfirmAsync(device, id, "succeeded");
        await (await device.SendOnceAsync(HttpMethod.Post, $"/api/device/v1/actions/{id}/result", new { status = "succeeded", detail = "other" }, default))
            .AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        var after = (await (await Owner.GetAsync($"/api/v1/actions/{id}/devices")).JsonAsync()).GetProperty("data")[0];
        Assert.Equal(before.GetProperty("succeededAt").GetString(), after.GetProperty("succeededAt").GetString());
        await (await device.SendOnceAsync(HttpMethod.Post, $"/api/device/v1/actions/{id}/result", new { status = "failed" }, default)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        Assert.Equal([second], (await InboxAsync(device)).Select(e => e.GetProperty("actionId").GetString()));
        var done = await WaitForStatusAsync(id, ActionStatuses.Succeeded);
        // The orchestration's own status says the same as the action, not "awaiting confirmations".
        var orchestration = done.GetProperty("orchestrationId").GetString()!;
        await Eventually.WaitAsync(() => CustomStatusAsync(orchestration), c => c.GetProperty("phase").GetString() == ActionStatuses.Succeeded, Timeout, "the final phase");
    }

    [Fact]
    public async Task Idempotency_key_repeat_returns_the_first_action()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 1, "idem-act");
        var key = Guid.NewGuid().ToString();
        var body = new { type = "refresh", devices = new[] { devices[0].Serial } };
        var first = await CreateAsync(Owner, body, key);
        var again = await CreateAsync(Owner, body, key);
        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        // The repeat created no second action (same id), and the inbox holds one entry per action and device by design.
        var delivered = await Eventually.WaitAsync(() => InboxAsync(devices[0]), e => e.Count >= 1, Timeout, "delivery");
        Assert.Equal([first.GetProperty("id").GetString()], delivered.Select(e => e.GetProperty("actionId").GetString()));
    }

    [Fact]
    public async Task Scopes_limits_and_params_are_checked()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 1, "scoped");
        using var rebooter = Tenant.Server.Client(await Tenant.CreateKeyAsync("notify:reboot", "fleet:read"));
        await CreateAsync(rebooter, new { type = "reboot", devices = new[] { devices[0].Serial } });
        await (await rebooter.PostAsJsonAsync("/api/v1/actions", new { type = "wipe", devices = new[] { devices[0].Serial } })).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");

        var tooMany = Enumerable.Range(0, 501).Select(i => $"s{i}").ToArray();
        await (await Owner.PostAsJsonAsync("/api/v1/actions", new { type = "reboot", devices = tooMany })).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        var bad = await (await Owner.PostAsJsonAsync("/api/v1/actions", new { type = "set-time", devices = new[] { devices[0].Serial }, @params = new { time = "noon", timezone = "Mars/Olympus" } }))
            .AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.True(bad.GetProperty("errors").TryGetProperty("params.time", out _));
        Assert.True(bad.GetProperty("errors").TryGetProperty("params.timezone", out _));
        await (await Owner.PostAsJsonAsync("/api/v1/actions", new { type = "set-brightness", devices = new[] { devices[0].Serial }, @params = new { brightness = 101 } }))
            .AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await Owner.PostAsJsonAsync("/api/v1/actions", new { type = "teleport", devices = new[] { devices[0].Serial } })).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await Owner.PostAsJsonAsync("/api/v1/actions", new { type = "reboot", devices = new[] { "ghost" } })).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await Owner.PostAsJsonAsync("/api/v1/actions", new { type = "reboot", group = "empty-group" })).AssertErrorAsync(HttpStatusCode.UnprocessableEntity, "unprocessable");
        var valid = await CreateAsync(Owner, new { type = "set-time", devices = new[] { devices[0].Serial }, @params = new { time = "2026-11-23T10:00:00Z", timezone = "Europe/Berlin" } });
        Assert.Equal("Europe/Berlin", valid.GetProperty("params").GetProperty("timezone").GetString());
    }

    [Fact]
    public async Task Screenshot_is_uploaded_through_a_write_link_and_readable_afterwards()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 1, "shot");
        var device = devices[0];
        var id = (await CreateAsync(Owner, new { type = "screenshot", devices = new[] { device.Serial } })).GetProperty("id").GetString()!;
        var entry = (await Eventually.WaitAsync(() => InboxAsync(device), e => e.Count == 1, Timeout, "delivery")).Single();
        var upload = entry.GetProperty("params").GetProperty("uploadUrl").GetString()!;
        using var storage = new HttpClient();
        var put = new HttpRequestMessage(HttpMethod.Put, upload) { Content = new ByteArrayContent([0x89, 0x50, 0x4E, 0x47]) };
        put.Headers.Add("x-ms-blob-type", "BlockBlob");
        await (await storage.SendAsync(put)).AssertStatusAsync(HttpStatusCode.Created);
        await ConfirmAsync(device, id, "succeeded");

        var record = (await (await Owner.GetAsync($"/api/v1/actions/{id}/devices")).JsonAsync()).GetProperty("data")[0];
        var url = record.GetProperty("screenshotUrl").GetString()!;
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], await storage.GetByteArrayAsync(url));
        Assert.Equal(HttpStatusCode.Forbidden, (await storage.GetAsync(upload)).StatusCode);
    }
}
