using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Actions;

/// <summary>Device actions: delivery into inboxes, confirmations, pause and cancel, idempotency, scopes and screenshots.</summary>
public sealed class ActionTests() : ActionTestBase("act")
{
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
    public async Task Pause_holds_undelivered_batches_resume_continues_and_cancel_withdraws()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 30, "pause", "paused-group");
        // Six batches: a first delivery that lags its release by a few batch delays (a slow machine) still leaves some held.
        var id = (await CreateAsync(Owner, new { type = "refresh", group = "paused-group", rollout = new { batchSize = 5, batchDelaySeconds = 4 } })).GetProperty("id").GetString()!;
        await Eventually.WaitAsync(() => ActionAsync(id), a => a.GetProperty("progress").GetProperty("delivered").GetInt32() >= 5, Timeout, "the first batch");
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
        // At least the batch delivered before the pause, and not all six: the pause held the rest.
        Assert.InRange(released, 1, 5);
        await Eventually.WaitAsync(() => ActionAsync(id), a => a.GetProperty("progress").GetProperty("delivered").GetInt32() == released * 5, Timeout, "the released batches");
        var later = await Eventually.WaitAsync(() => CustomStatusAsync(orchestration),
            c => c.GetProperty("at").GetDateTimeOffset() > settled.GetProperty("at").GetDateTimeOffset(), Timeout, "another decision while paused");
        Assert.Equal(released, later.GetProperty("nextBatch").GetInt32());
        var held = (await ActionAsync(id)).GetProperty("progress").GetProperty("delivered").GetInt32();
        Assert.Equal(released * 5, held);

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
