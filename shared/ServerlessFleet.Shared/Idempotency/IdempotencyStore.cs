using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Idempotency;

/// <summary>A stored response to replay for a repeated request.</summary>
public sealed record StoredResponse(int StatusCode, string? ContentType, string? Location, string? ETag, string Body);

public enum IdempotencyClaim { Claimed, Replay, InProgress, Mismatch }

/// <summary>
/// <c>idempotency</c> table: PartitionKey = tenant, RowKey = hash of (route, key). A request first claims its key
/// with an insert (so two concurrent repeats cannot both run), then stores its response; a failed request
/// releases the claim so it can be retried. A claim whose request never finished (its worker died) lapses after
/// <see cref="ClaimLease"/>, so the retry can run. Entries expire after a day.
/// </summary>
public sealed class IdempotencyStore(FleetStorage storage, TimeProvider clock)
{
    public const string TableName = "idempotency";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);
    /// <summary>Longer than any request runs (the slowest wait for an orchestration is 20 s).</summary>
    public static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(2);
    private TableClient Table => storage.Table(TableName);

    public async Task<(IdempotencyClaim Claim, StoredResponse? Response)> ClaimAsync(string tenantId, string key, string bodyHash, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                await Table.AddEntityAsync(new TableEntity(tenantId, key) { ["BodyHash"] = bodyHash, ["State"] = "running", ["CreatedAt"] = clock.GetUtcNow() }, ct);
                return (IdempotencyClaim.Claimed, null);
            }
            catch (RequestFailedException e) when (e.IsConflict())
            {
                var existing = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, key, cancellationToken: ct);
                if (!existing.HasValue || existing.Value is null) continue; // released meanwhile: claim again
                var row = existing.Value;
                if (row.GetDateTimeOffset("CreatedAt") < clock.GetUtcNow() - Lifetime)
                {
                    await Table.DeleteEntityAsync(tenantId, key, row.ETag, ct);
                    continue;
                }
                if (row.GetString("BodyHash") != bodyHash) return (IdempotencyClaim.Mismatch, null);
                if (row.GetString("State") != "done")
                {
                    if (row.GetDateTimeOffset("CreatedAt") >= clock.GetUtcNow() - ClaimLease) return (IdempotencyClaim.InProgress, null);
                    // The request that claimed it is gone: take the claim over (once, under the row's ETag).
                    try
                    {
                        await Table.UpdateEntityAsync(new TableEntity(tenantId, key) { ["BodyHash"] = bodyHash, ["State"] = "running", ["CreatedAt"] = clock.GetUtcNow() },
                            row.ETag, TableUpdateMode.Replace, ct);
                        return (IdempotencyClaim.Claimed, null);
                    }
                    catch (RequestFailedException lost) when (lost.IsPreconditionFailed())
                    {
                        return (IdempotencyClaim.InProgress, null);
                    }
                }
                return (IdempotencyClaim.Replay, new StoredResponse(row.GetInt32("StatusCode") ?? 200, row.GetString("ContentType"),
                    row.GetString("Location"), row.GetString("ETag"), row.GetString("Body") ?? ""));
            }
        }
        return (IdempotencyClaim.InProgress, null);
    }

    public Task CompleteAsync(string tenantId, string key, StoredResponse response, CancellationToken ct) =>
        Table.UpdateEntityAsync(new TableEntity(tenantId, key)
        {
            ["State"] = "done",
            ["StatusCode"] = response.StatusCode,
            ["ContentType"] = response.ContentType,
            ["Location"] = response.Location,
            ["ETag"] = response.ETag,
            ["Body"] = response.Body,
        }, ETag.All, TableUpdateMode.Merge, ct);

    public async Task ReleaseAsync(string tenantId, string key, CancellationToken ct)
    {
        try { await Table.DeleteEntityAsync(tenantId, key, ETag.All, ct); }
        catch (RequestFailedException e) when (e.IsNotFound()) { }
    }
}
