using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Actions;

/// <summary>What the action tests share: creating an action, reading its status, and simulated devices that answer.</summary>
public abstract class ActionTestBase(string prefix) : TenantScopedTests(prefix)
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    /// <summary>
    /// How long a bulk action may make no progress before its test fails: longer than a task-hub partition takes to come
    /// back to the host after its lease lapsed on a saturated emulator (lease expiry plus the message visibility timeout).
    /// </summary>
    protected static readonly TimeSpan StallTimeout = TimeSpan.FromMinutes(4);

    protected async Task<JsonElement> CreateAsync(HttpClient client, object body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/actions") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await (await client.SendAsync(request)).AssertStatusAsync(HttpStatusCode.Accepted);
        Assert.StartsWith("/api/v1/actions/", response.Headers.Location!.ToString());
        return await response.JsonAsync();
    }

    protected async Task<JsonElement> ActionAsync(string id) => await (await Owner.GetAsync($"/api/v1/actions/{id}")).JsonAsync();

    protected async Task<JsonElement> CustomStatusAsync(string orchestration) =>
        (await (await Owner.GetAsync($"/api/v1/orchestrations/{orchestration}")).JsonAsync()).GetProperty("customStatus");

    protected Task<JsonElement> WaitForStatusAsync(string id, params string[] statuses) =>
        Eventually.WaitAsync(() => ActionAsync(id), a => statuses.Contains(a.GetProperty("status").GetString()), Timeout, $"action {id} to be {string.Join("|", statuses)}");

    protected static async Task<IReadOnlyList<JsonElement>> InboxAsync(FleetDeviceClient device, long afterSeq = 0) =>
        (await (await (await device.SendOnceAsync(HttpMethod.Get, $"/api/device/v1/actions?afterSeq={afterSeq}", null, default)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync())
            .EnumerateArray().ToList();

    protected static async Task ConfirmAsync(FleetDeviceClient device, string actionId, string status, string? detail = null) =>
        await (await device.SendOnceAsync(HttpMethod.Post, $"/api/device/v1/actions/{actionId}/result", new { status, detail }, default)).AssertStatusAsync(HttpStatusCode.NoContent);

    /// <summary>Simulated devices: each one with a delivered command reads its inbox and answers, until the action ends.</summary>
    protected async Task AnswerUntilDoneAsync(string actionId, IReadOnlyList<FleetDeviceClient> devices, Func<FleetDeviceClient, string> answer)
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
}
