using Azure.Data.Tables;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Devices;

/// <summary>One decision the platform made about a device, with its reason.</summary>
public sealed record TimelineEntry(DateTimeOffset At, string Subject, string SubjectId, string Decision, string Reason);

/// <summary>The decisions recorded in a device's timeline.</summary>
public static class TimelineDecisions
{
    public const string Deployment = "deployment";
    public const string Action = "action";

    public const string Targeted = "targeted";
    public const string Offered = "offered";
    public const string Queued = "queued";
    public const string Skipped = "skipped";
    public const string Retried = "retried";
    public const string TimedOut = "timed-out";
    public const string Aborted = "aborted";
    public const string RolledBack = "rolled-back";
    public const string Installed = "installed";
    public const string Failed = "failed";
    public const string Delivered = "delivered";
    public const string Confirmed = "confirmed";
}

/// <summary>
/// Every decision about a device, appended as its own row in the device's partition (<c>{tenant}:{serial}</c>, row key
/// newest first): writing one never reads or rewrites another, so recording costs one request and no contention. Each
/// decision is recorded once: a marker row (<c>~{subject}:{decision}:{occurrence}</c>, after every entry's key) goes
/// into the same transaction, so an activity run again after a crash, or a device repeating a report whose answer it
/// lost, adds nothing. Read newest first, for the device or for one deployment or action of it.
/// </summary>
public sealed class DeviceTimeline(FleetStorage storage, TimeProvider clock)
{
    public const string TableName = "devicetimeline";
    private const string MarkerPrefix = "~";
    private TableClient Table => storage.Table(TableName);

    public static string Partition(string tenantId, string serial) => $"{tenantId}:{serial}";

    /// <param name="occurrence">Tells apart the decisions of one kind that do recur for a subject (an offer per attempt).</param>
    public async Task AppendAsync(string tenantId, string serial, string subject, string subjectId, string decision, string reason, CancellationToken ct,
        int occurrence = 0)
    {
        var now = clock.GetUtcNow();
        var partition = Partition(tenantId, serial);
        // Inverted ticks read newest first; the suffix keeps two decisions of the same tick apart.
        var rowKey = $"{DateTimeOffset.MaxValue.UtcTicks - now.UtcTicks:D19}-{Guid.NewGuid():n}"[..32];
        var entry = new TableEntity(partition, rowKey)
        {
            ["At"] = now,
            ["Subject"] = subject,
            ["SubjectId"] = subjectId,
            ["Decision"] = decision,
            ["Reason"] = reason.Length > 1000 ? reason[..1000] : reason,
        };
        var marker = new TableEntity(partition, $"{MarkerPrefix}{subjectId}:{decision}:{occurrence}") { ["Entry"] = rowKey };
        try
        {
            await Table.SubmitTransactionAsync([new TableTransactionAction(TableTransactionActionType.Add, marker), new TableTransactionAction(TableTransactionActionType.Add, entry)], ct);
        }
        catch (TableTransactionFailedException e) when (e.Status == 409 && e.FailedTransactionActionIndex == 0)
        {
            // Recorded before (or by this very call, whose first answer was lost).
        }
    }

    public Task AppendAsync(string tenantId, IEnumerable<string> serials, string subject, string subjectId, string decision, string reason, CancellationToken ct) =>
        Parallel.ForEachAsync(serials, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (serial, token) => await AppendAsync(tenantId, serial, subject, subjectId, decision, reason, token));

    public Task<ListPage<TimelineEntry>> ListAsync(string tenantId, string serial, string? subjectId, PageRequest page, CancellationToken ct) =>
        TablePager.ReadAsync<TableEntity, TimelineEntry>(Table,
            TableFilters.And(TableFilters.PartitionEquals(Partition(tenantId, serial)), $"RowKey lt {TableFilters.Quote(MarkerPrefix)}",
                subjectId is null ? null : $"SubjectId eq {TableFilters.Quote(subjectId)}"),
            page, e => new TimelineEntry(e.GetDateTimeOffset("At") ?? default, e.GetString("Subject") ?? "", e.GetString("SubjectId") ?? "",
                e.GetString("Decision") ?? "", e.GetString("Reason") ?? ""), ct);
}
