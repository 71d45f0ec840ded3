using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Shared.Tenants;

namespace ServerlessFleet.Shared.DeviceAuth;

public enum AuthOutcome { Accepted, Pending, Rejected }

/// <param name="Waiting">How long the device has been waiting for admission (pending) or since it was rejected.</param>
public sealed record AuthResult(AuthOutcome Outcome, DeviceToken? Token, TimeSpan Waiting = default);

/// <summary>
/// Mender-style device admission. Auth sets live in the device's own partition of the <c>devices</c> table
/// (RowKey <c>authset-{fingerprint}</c>, rows this store alone writes), so a status change and the device's derived
/// status commit in one transaction, the device row's part of it written by <see cref="DeviceStore"/>. Issued token ids are indexed in <c>devicetokens</c> (tenant, jti) for revocation.
/// </summary>
public sealed class DeviceAdmission(FleetStorage storage, DeviceStore devices, DeviceTokens tokens, TimeProvider clock)
{
    public const string TokenTable = "devicetokens";
    private const string AuthSetPrefix = "authset-";
    /// <summary>The auth sets' rows, in the device partitions of the devices table.</summary>
    private TableClient AuthSets => storage.Table(DeviceKeys.TableName);

    /// <summary>The device-facing flow. The caller has already verified the body's signature with the presented key.</summary>
    public async Task<AuthResult> AuthenticateAsync(Tenant tenant, string serial, JsonObject identity, DevicePublicKey key, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (device, sets) = await ReadPartitionAsync(tenant.TenantId, serial, ct);
            var set = sets.FirstOrDefault(s => s.Set.Id == key.Fingerprint);
            try
            {
                switch (set.Set?.Status)
                {
                    case null:
                        await CommitAsync(tenant.TenantId, serial, device, sets,
                            [new AuthSet(key.Fingerprint, serial, identity, key.Pem, key.Type, AuthSetStatuses.Pending, clock.GetUtcNow(), clock.GetUtcNow())], identity, ct);
                        return new AuthResult(AuthOutcome.Pending, null);
                    case AuthSetStatuses.Pending:
                        return new AuthResult(AuthOutcome.Pending, null, clock.GetUtcNow() - set.Set.CreatedAt);
                    case AuthSetStatuses.Rejected:
                        return new AuthResult(AuthOutcome.Rejected, null, clock.GetUtcNow() - set.Set.UpdatedAt);
                    case AuthSetStatuses.Preauthorized:
                        await EnsureCapacityAsync(tenant, device, ct);
                        await CommitAsync(tenant.TenantId, serial, device, sets, Accept(sets, set.Set.Id), identity, ct);
                        return new AuthResult(AuthOutcome.Accepted, await IssueAsync(tenant.TenantId, serial, ct));
                    default:
                        return device?.Status == DeviceStatuses.Accepted
                            ? new AuthResult(AuthOutcome.Accepted, await IssueAsync(tenant.TenantId, serial, ct, device.TokensValidAfter))
                            : new AuthResult(AuthOutcome.Rejected, null);
                }
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < 3)
            {
                // Someone changed the device at the same moment: read again and decide again.
            }
        }
    }

    public async Task<AuthSet> SetStatusAsync(Tenant tenant, string serial, string authSetId, string status, CancellationToken ct)
    {
        var (device, sets) = await ReadPartitionAsync(tenant.TenantId, serial, ct);
        var current = sets.FirstOrDefault(s => s.Set.Id == authSetId).Set ?? throw FleetException.NotFound("Auth set", authSetId);
        if (current.Status == status) return current;
        if (!AuthSetStatuses.CanMove(current.Status, status))
            throw FleetException.Conflict($"An auth set cannot move from {current.Status} to {status}.");
        List<AuthSet> changed;
        if (status == AuthSetStatuses.Accepted)
        {
            await EnsureCapacityAsync(tenant, device, ct);
            changed = Accept(sets, authSetId);
        }
        else
        {
            changed = [current with { Status = status, UpdatedAt = clock.GetUtcNow() }];
        }
        try
        {
            await CommitAsync(tenant.TenantId, serial, device, sets, changed, null, ct, revokeTokens: current.Status == AuthSetStatuses.Accepted);
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
        {
            throw FleetException.Conflict("The device changed at the same time; try again.");
        }
        return changed.Single(s => s.Id == authSetId);
    }

    public async Task<AuthSet> PreauthorizeAsync(Tenant tenant, string serial, JsonObject identity, DevicePublicKey key, CancellationToken ct)
    {
        var (device, sets) = await ReadPartitionAsync(tenant.TenantId, serial, ct);
        if (sets.Any(s => s.Set.Id == key.Fingerprint)) throw FleetException.Conflict("This device already has an auth set with that key.");
        var set = new AuthSet(key.Fingerprint, serial, identity, key.Pem, key.Type, AuthSetStatuses.Preauthorized, clock.GetUtcNow(), clock.GetUtcNow());
        await CommitAsync(tenant.TenantId, serial, device, sets, [set], identity, ct);
        return set;
    }

    public Task<ListPage<AuthSet>> ListAsync(string tenantId, string? status, PageRequest page, CancellationToken ct)
    {
        var filter = TableFilters.And(DeviceKeys.TenantRange(tenantId), TableFilters.RowKeyStartsWith(AuthSetPrefix),
            status is null ? null : $"Status eq {TableFilters.Quote(status)}");
        return TablePager.ReadAsync<TableEntity, AuthSet>(AuthSets, filter, page, FromEntity, ct);
    }

    /// <summary>Revokes one token: the device must authenticate again.</summary>
    public async Task RevokeTokenAsync(string tenantId, string jti, CancellationToken ct)
    {
        var row = await storage.Table(TokenTable).GetEntityIfExistsAsync<TableEntity>(tenantId, jti, cancellationToken: ct);
        if (!row.HasValue || row.Value is null) throw FleetException.NotFound("Token", jti);
        var serial = row.Value.GetString("Serial")!;
        var expires = row.Value.GetDateTimeOffset("ExpiresAt") ?? clock.GetUtcNow();
        var now = clock.GetUtcNow();
        await devices.UpdateAsync(tenantId, serial, d => d with
        {
            RevokedTokens = d.RevokedTokens.Where(t => t.ExpiresAt > now && t.Jti != jti).Append(new RevokedToken(jti, expires)).ToList(),
        }, null, ct);
    }

    /// <summary>A decommissioned device loses its auth sets: if it comes back it starts over as pending.</summary>
    public async Task ForgetAuthSetsAsync(string tenantId, string serial, CancellationToken ct)
    {
        var (_, sets) = await ReadPartitionAsync(tenantId, serial, ct);
        foreach (var (set, _) in sets) await AuthSets.DeleteEntityAsync(DeviceKeys.Partition(tenantId, serial), AuthSetPrefix + set.Id, ETag.All, ct);
    }

    /// <param name="validAfter">Tokens issued before it are refused (a rejection or decommission revoked them): a token
    /// issued in the same second counts from then, so re-admission takes effect at once.</param>
    private async Task<DeviceToken> IssueAsync(string tenantId, string serial, CancellationToken ct, DateTimeOffset? validAfter = null)
    {
        var token = tokens.Issue(tenantId, serial, validAfter);
        await storage.Table(TokenTable).AddOnceAsync(new TableEntity(tenantId, token.Jti) { ["Serial"] = serial, ["ExpiresAt"] = token.ExpiresAt }, ct);
        return token;
    }

    private async Task EnsureCapacityAsync(Tenant tenant, Device? device, CancellationToken ct)
    {
        if (tenant.MaxDevices is not { } max || device?.Status == DeviceStatuses.Accepted) return;
        if (await devices.CountAsync(tenant.TenantId, DeviceStatuses.Accepted, ct) >= max)
            throw new FleetException(ErrorCategory.Unprocessable, $"The tenant's limit of {max} accepted devices is reached.");
    }

    /// <summary>Accepting one auth set rejects the device's other accepted one: one key is live at a time.</summary>
    private List<AuthSet> Accept(IEnumerable<(AuthSet Set, ETag ETag)> sets, string id) => sets
        .Where(s => s.Set.Id == id || s.Set.Status == AuthSetStatuses.Accepted)
        .Select(s => s.Set with { Status = s.Set.Id == id ? AuthSetStatuses.Accepted : AuthSetStatuses.Rejected, UpdatedAt = clock.GetUtcNow() })
        .ToList();

    private async Task<(Device? Device, List<(AuthSet Set, ETag ETag)> Sets)> ReadPartitionAsync(string tenantId, string serial, CancellationToken ct)
    {
        var (device, rows) = await devices.ReadWithRowsAsync(tenantId, serial, AuthSetPrefix, ct);
        return (device, rows.Select(row => (FromEntity(row), row.ETag)).ToList());
    }

    /// <summary>Writes changed auth sets and the device with its derived status in one transaction.</summary>
    private async Task CommitAsync(string tenantId, string serial, Device? device, List<(AuthSet Set, ETag ETag)> sets, IReadOnlyList<AuthSet> changed,
        JsonObject? identity, CancellationToken ct, bool revokeTokens = false)
    {
        var now = clock.GetUtcNow();
        var all = sets.Select(s => s.Set).Where(s => changed.All(c => c.Id != s.Id)).Concat(changed).ToList();
        var status = all.Any(s => s.Status == AuthSetStatuses.Accepted) ? DeviceStatuses.Accepted
            : all.Any(s => s.Status == AuthSetStatuses.Preauthorized) ? DeviceStatuses.Preauthorized
            : all.Any(s => s.Status == AuthSetStatuses.Pending) ? DeviceStatuses.Pending
            : DeviceStatuses.Rejected;

        var fresh = device is null || device.Status == DeviceStatuses.Decommissioned;
        var identityAttributes = identity?.Where(p => p.Value is JsonValue).ToDictionary(p => p.Key, p => p.Value?.DeepClone(), StringComparer.Ordinal);
        var updated = fresh
            ? new Device(tenantId, serial, null, null, Text(identity, "hardware_version") ?? "unknown", Text(identity, "device_type"),
                Device.UnassignedGroup, [], status, now, now, null, new Dictionary<AttributeScope, IReadOnlyDictionary<string, JsonNode?>>())
            : device! with { Status = status, UpdatedAt = now };
        if (identityAttributes is not null && (fresh || status == DeviceStatuses.Accepted)) updated = updated.WithScope(AttributeScope.Identity, identityAttributes);
        // Tokens issued before this second stop working once the key that earned them is no longer accepted.
        if (revokeTokens) updated = updated with { TokensValidAfter = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds() + 1) };

        var actions = new List<TableTransactionAction> { DeviceStore.WriteAction(device, updated) };
        foreach (var set in changed)
        {
            var existing = sets.FirstOrDefault(s => s.Set.Id == set.Id);
            actions.Add(existing.Set is null
                ? new TableTransactionAction(TableTransactionActionType.Add, ToEntity(tenantId, set))
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, ToEntity(tenantId, set), existing.ETag));
        }
        await AuthSets.SubmitTransactionAsync(actions, ct);
    }

    private static string? Text(JsonObject? identity, string name) =>
        identity?[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length is > 0 and <= 64 ? s : null;

    private static TableEntity ToEntity(string tenantId, AuthSet s) => new(DeviceKeys.Partition(tenantId, s.Serial), AuthSetPrefix + s.Id)
    {
        ["Serial"] = s.Serial,
        ["Identity"] = s.Identity.ToJsonString(),
        ["PublicKey"] = s.PublicKey,
        ["KeyType"] = s.KeyType.ToString(),
        ["Status"] = s.Status,
        ["CreatedAt"] = s.CreatedAt,
        ["UpdatedAt"] = s.UpdatedAt,
    };

    private static AuthSet FromEntity(TableEntity e) => new(
        e.RowKey[AuthSetPrefix.Length..], e.GetString("Serial")!, JsonNode.Parse(e.GetString("Identity") ?? "{}")!.AsObject(),
        e.GetString("PublicKey")!, Enum.Parse<DeviceKeyType>(e.GetString("KeyType")!), e.GetString("Status")!,
        e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, e.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue);
}
