using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Auth;

/// <summary>A working owner key as the tenant's owner roll lists it.</summary>
public sealed record OwnerEntry(string KeyId, DateTimeOffset? ExpiresAt);

/// <summary>
/// The tenant's owner roll: one row of the key table (PartitionKey <c>owners|{tenant}</c>) listing the owner keys that
/// count, changed only under its ETag. Revoking an owner takes it off the roll first, which is refused when the roll
/// would hold no working key; a key on no roll (its creation was cut short) only ever makes that refusal stricter.
/// The roll is built from the keys themselves the first time it is needed.
/// </summary>
public sealed partial class ApiKeyStore
{
    private const string OwnerRollRow = "owners";
    private const string OwnersColumn = "Owners";

    private static string OwnerRollPartition(string tenantId) => $"owners|{tenantId}";

    private Task CountAsOwnerAsync(ApiKey key, CancellationToken ct) =>
        ChangeOwnerRollAsync(key.TenantId, roll => roll.Any(o => o.KeyId == key.KeyId) ? null : [.. roll, new OwnerEntry(key.KeyId, key.ExpiresAt)], ct);

    private Task StopCountingAsOwnerAsync(ApiKey key, CancellationToken ct) =>
        ChangeOwnerRollAsync(key.TenantId, roll =>
        {
            var now = clock.GetUtcNow();
            var remaining = roll.Where(o => o.KeyId != key.KeyId && (o.ExpiresAt is null || o.ExpiresAt > now)).ToList();
            if (remaining.Count == 0)
                throw FleetException.Conflict("This is the tenant's last owner key; create another account:owner key before revoking it.");
            return remaining.Count == roll.Count ? null : remaining;
        }, ct);

    /// <param name="change">The roll after the change, or null when nothing changes.</param>
    private async Task ChangeOwnerRollAsync(string tenantId, Func<IReadOnlyList<OwnerEntry>, List<OwnerEntry>?> change, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var row = await Table.GetEntityIfExistsAsync<TableEntity>(OwnerRollPartition(tenantId), OwnerRollRow, cancellationToken: ct);
            var stored = row is { HasValue: true, Value: { } existing } ? existing : null;
            var roll = stored is null ? await WorkingOwnersAsync(tenantId, ct) : JsonSerializer.Deserialize<List<OwnerEntry>>(stored.GetString(OwnersColumn) ?? "[]")!;
            var next = change(roll);
            if (next is null && stored is not null) return;
            var entity = new TableEntity(OwnerRollPartition(tenantId), OwnerRollRow) { [OwnersColumn] = JsonSerializer.Serialize(next ?? roll) };
            try
            {
                if (stored is null) await Table.AddEntityAsync(entity, ct);
                else await Table.UpdateEntityAsync(entity, stored.ETag, TableUpdateMode.Replace, ct);
                return;
            }
            catch (RequestFailedException e) when ((e.IsConflict() || e.IsPreconditionFailed()) && attempt < 20)
            {
                // Another change to the roll came first: decide again on what it left.
            }
        }
    }

    private async Task<List<OwnerEntry>> WorkingOwnersAsync(string tenantId, CancellationToken ct) =>
        (await ActiveOwnersAsync(tenantId, ct)).Select(k => new OwnerEntry(k.KeyId, k.ExpiresAt)).ToList();
}
