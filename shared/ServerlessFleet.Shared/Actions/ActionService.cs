using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Sas;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Actions;

/// <summary>Queue message: deliver one action to the inboxes of a few devices (each delivery is idempotent on its own).</summary>
public sealed record DeliveryMessage(string TenantId, string ActionId, IReadOnlyList<string> Serials);

/// <summary>Delivery, confirmation, cancellation and expiry of device actions; the bulk orchestration drives it.</summary>
public sealed class ActionService(ActionStore actions, DeviceInbox inbox, FleetStorage storage, BlobLinks links, Devices.DeviceTimeline timeline, TimeProvider clock)
{
    public const string DeliveryQueue = "device-actions";
    public const string ScreenshotContainer = "screenshots";

    /// <summary>Devices per delivery message: fewer queue transactions, and a retried message redoes little.</summary>
    public const int DevicesPerMessage = 20;

    public static string ScreenshotBlob(string tenantId, string actionId, string serial) => $"{tenantId}/{actionId}/{serial}.png";

    /// <summary>Sends the delivery messages of one batch's devices that are still pending.</summary>
    public async Task<int> ReleaseBatchAsync(string tenantId, string actionId, int batch, CancellationToken ct)
    {
        var pending = await actions.RecordsAsync(tenantId, actionId, DeviceActionStatuses.Pending, batch, ct);
        await SendDeliveriesAsync(tenantId, actionId, pending, ct);
        return pending.Count;
    }

    /// <summary>
    /// Sends the deliveries of released devices that still have none again: one query over the action's pending
    /// records. A device whose first message is still on its way gets its command once all the same.
    /// </summary>
    public async Task<int> RedeliverAsync(string tenantId, string actionId, int releasedBatches, CancellationToken ct)
    {
        var undelivered = (await actions.RecordsAsync(tenantId, actionId, DeviceActionStatuses.Pending, ct: ct)).Where(r => r.Batch < releasedBatches).ToList();
        await SendDeliveriesAsync(tenantId, actionId, undelivered, ct);
        return undelivered.Count;
    }

    private async Task SendDeliveriesAsync(string tenantId, string actionId, IReadOnlyList<DeviceActionRecord> pending, CancellationToken ct)
    {
        var queue = storage.Queue(DeliveryQueue);
        // A message's devices share a records partition, so their records and counts are written in one transaction.
        var messages = pending.GroupBy(r => ActionStore.RecordPartition(tenantId, actionId, r.Serial)).SelectMany(p => p.Chunk(DevicesPerMessage));
        await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (chunk, token) =>
            await queue.SendMessageAsync(JsonSerializer.Serialize(new DeliveryMessage(tenantId, actionId, chunk.Select(r => r.Serial).ToList())), token));
    }

    /// <summary>Puts the command in each device's inbox (exactly once), then marks the records delivered. Safe to repeat.</summary>
    public async Task DeliverAsync(DeliveryMessage message, CancellationToken ct)
    {
        var action = await actions.GetAsync(message.TenantId, message.ActionId, ct);
        var delivered = new System.Collections.Concurrent.ConcurrentDictionary<string, (DeviceActionRecord Record, long? Seq)>();
        await Parallel.ForEachAsync(message.Serials, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (serial, token) =>
        {
            var record = await actions.FindRecordAsync(action.TenantId, action.Id, serial, token);
            // Delivered already (a message sent again while the first was on its way): the inbox has it, nothing to add.
            if (record is null || record.Status != DeviceActionStatuses.Pending) return;
            delivered[serial] = (record, await inbox.DeliverAsync(action.TenantId, serial, action, await ParametersAsync(action, serial, token), token));
        });
        foreach (var partition in delivered.GroupBy(d => ActionStore.RecordPartition(action.TenantId, action.Id, d.Key)))
        {
            var records = await MarkDeliveredAsync(action, partition.ToDictionary(d => d.Key, d => d.Value), ct) ?? [];
            // Canceled (or expired) between the check and the inbox write: the entry the device would find is withdrawn.
            foreach (var ended in records.Where(r => r.Status is DeviceActionStatuses.Canceled or DeviceActionStatuses.TimedOut))
                if (delivered[ended.Serial].Seq is { } seq) await inbox.SetStatusAsync(action.TenantId, ended.Serial, seq, ended.Status, ct);
        }
        await Parallel.ForEachAsync(delivered, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (d, token) =>
            await timeline.AppendAsync(action.TenantId, d.Key, Devices.TimelineDecisions.Action, action.Id,
                d.Value.Seq is { } seq ? Devices.TimelineDecisions.Delivered : Devices.TimelineDecisions.Failed,
                d.Value.Seq is { } s2 ? $"{action.Type} delivered to the inbox (seq {s2})" : $"{action.Type} not delivered: the device is gone", token));
    }

    private async Task<JsonObject> ParametersAsync(DeviceAction action, string serial, CancellationToken ct)
    {
        var parameters = action.Params.DeepClone().AsObject();
        if (action.Type == ActionTypes.Screenshot)
        {
            var upload = await links.SignAsync(ScreenshotContainer, ScreenshotBlob(action.TenantId, action.Id, serial),
                BlobSasPermissions.Create | BlobSasPermissions.Write, action.ExpiresAt - clock.GetUtcNow() + TimeSpan.FromMinutes(5), ct);
            parameters["uploadUrl"] = upload.Uri.ToString();
        }
        return parameters;
    }

    /// <summary>
    /// The records of one partition: delivered with their sequence number, or failed when the device is gone; one
    /// transaction, first tried with the records as read before the inbox writes.
    /// </summary>
    private Task<IReadOnlyList<DeviceActionRecord>?> MarkDeliveredAsync(DeviceAction action, IReadOnlyDictionary<string, (DeviceActionRecord Record, long? Seq)> delivered, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        DeviceActionRecord Delivered(DeviceActionRecord r) => DeviceActionStatuses.IsFinal(r.Status) ? r
            : delivered[r.Serial].Seq is { } seq
                ? r with { Status = r.Status == DeviceActionStatuses.Pending ? DeviceActionStatuses.Delivered : r.Status, Seq = seq, DeliveredAt = r.DeliveredAt ?? now }
                : r with { Status = DeviceActionStatuses.Failed, FailedAt = now, Result = "device_unavailable" };
        return OptimisticUpdate.RunAsync<IReadOnlyList<DeviceActionRecord>>(
            async () => (await Task.WhenAll(delivered.Keys.Select(serial => actions.FindRecordAsync(action.TenantId, action.Id, serial, ct)))).OfType<DeviceActionRecord>().ToList(),
            records => records.Select(Delivered).ToList() is var next && !next.SequenceEqual(records) ? next : null,
            (records, next) => actions.TryUpdateRecordsAsync(action.TenantId, action.Id, records.Zip(next).Where(p => p.First != p.Second).ToList(), ct),
            $"Action {action.Id}: deliveries", delivered.Values.Select(d => d.Record).ToList());
    }

    /// <summary>The device's answer. Repeating it changes nothing; contradicting it, or answering too late, is 409.</summary>
    public async Task<DeviceActionRecord> ConfirmAsync(string tenantId, string serial, string actionId, string status, string? detail, CancellationToken ct)
    {
        var seq = await inbox.FindSeqAsync(tenantId, serial, actionId, ct) ?? throw FleetException.NotFound("Action", actionId);
        var now = clock.GetUtcNow();
        var updated = await UpdateRecordAsync(tenantId, actionId, serial, r =>
        {
            // The same outcome again, adding nothing new (no detail, or the same one): the same confirmation.
            if (r.Status == status && (detail is null || r.Result == detail)) return null;
            if (DeviceActionStatuses.IsFinal(r.Status))
                throw FleetException.Conflict(r.Status is DeviceActionStatuses.Succeeded or DeviceActionStatuses.Failed
                    ? $"The action was already confirmed as {r.Status}." : $"The action is {r.Status}; it no longer takes results.");
            return status == DeviceActionStatuses.Succeeded
                ? r with { Status = status, SucceededAt = now, Result = detail, Seq = seq }
                : r with { Status = status, FailedAt = now, Result = detail, Seq = seq };
        }, ct) ?? throw FleetException.NotFound("Action", actionId);
        await inbox.SetStatusAsync(tenantId, serial, seq, updated.Status, ct);
        // Repeated too: the timeline entry may be what the first call lost, and the timeline records it once.
        if (updated.Status == status)
            await timeline.AppendAsync(tenantId, serial, Devices.TimelineDecisions.Action, actionId, Devices.TimelineDecisions.Confirmed,
                $"the device confirmed {updated.Status}{(detail is null ? "" : $": {detail}")}", ct);
        return updated;
    }

    /// <summary>Ends every record not final yet with <paramref name="status"/> (canceled or timed_out) and withdraws it from the inbox.</summary>
    public async Task<int> EndOpenAsync(string tenantId, string actionId, string status, bool pendingOnly, CancellationToken ct)
    {
        var open = (await actions.RecordsAsync(tenantId, actionId, ct: ct))
            .Where(r => r.Status == DeviceActionStatuses.Pending || (!pendingOnly && r.Status == DeviceActionStatuses.Delivered)).ToList();
        var now = clock.GetUtcNow();
        await Parallel.ForEachAsync(open, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (record, token) =>
        {
            var ended = await UpdateRecordAsync(tenantId, actionId, record.Serial, r => DeviceActionStatuses.IsFinal(r.Status) || (pendingOnly && r.Status != DeviceActionStatuses.Pending) ? null
                : status == DeviceActionStatuses.TimedOut ? r with { Status = status, TimedOutAt = now } : r with { Status = status, CanceledAt = now }, token);
            if (ended?.Seq is { } seq && ended.Status == status) await inbox.SetStatusAsync(tenantId, record.Serial, seq, status, token);
            if (ended is not null && (ended.TimedOutAt == now || ended.CanceledAt == now))
                await timeline.AppendAsync(tenantId, record.Serial, Devices.TimelineDecisions.Action, actionId,
                    status == DeviceActionStatuses.TimedOut ? Devices.TimelineDecisions.TimedOut : Devices.TimelineDecisions.Aborted,
                    status == DeviceActionStatuses.TimedOut ? "no answer before the action expired"
                    : pendingOnly ? "withdrawn before delivery: the action stopped at its failure threshold" : "canceled by request", token);
        });
        return open.Count;
    }

    public async Task<Uri?> ScreenshotUrlAsync(string tenantId, DeviceAction action, DeviceActionRecord record, CancellationToken ct) =>
        action.Type == ActionTypes.Screenshot && record.Status == DeviceActionStatuses.Succeeded
            ? (await links.SignAsync(ScreenshotContainer, ScreenshotBlob(tenantId, action.Id, record.Serial), BlobSasPermissions.Read, TimeSpan.FromMinutes(15), ct)).Uri
            : null;

    /// <summary>Read-modify-write of one record (and its counts) under its ETag; <paramref name="change"/> returns null for "nothing to do".</summary>
    private Task<DeviceActionRecord?> UpdateRecordAsync(string tenantId, string actionId, string serial, Func<DeviceActionRecord, DeviceActionRecord?> change,
        CancellationToken ct, DeviceActionRecord? known = null) =>
        OptimisticUpdate.RunAsync(() => actions.FindRecordAsync(tenantId, actionId, serial, ct), change,
            (current, next) => actions.TryUpdateRecordAsync(tenantId, actionId, current, next, ct), $"Record {actionId}/{serial}", known);
}
