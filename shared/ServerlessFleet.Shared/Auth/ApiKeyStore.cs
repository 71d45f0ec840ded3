using System.Security.Cryptography;
using System.Text;
using Azure;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Auth;

/// <summary>
/// API keys, stored as a SHA-256 of a 256-bit random secret: the secret has full entropy, so a slow
/// password hash would add latency to every request without adding safety.
/// </summary>
public sealed partial class ApiKeyStore(FleetStorage storage, TimeProvider clock)
{
    public const string TableName = "apikeys";
    internal const string RowKey = "key";

    private Azure.Data.Tables.TableClient Table => storage.Table(TableName);

    public async Task<CreatedApiKey> CreateAsync(string tenantId, string name, IReadOnlyCollection<string> scopes,
        DateTimeOffset? expiresAt, string createdBy, CancellationToken ct)
    {
        var keyId = "k" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var entity = new ApiKeyEntity
        {
            PartitionKey = keyId,
            TenantId = tenantId,
            Name = name,
            Scopes = string.Join(' ', scopes.Distinct(StringComparer.Ordinal)),
            SecretHash = Hash(secret),
            CreatedAt = clock.GetUtcNow(),
            ExpiresAt = expiresAt,
            CreatedBy = createdBy,
        };
        // The id and the secret's hash are random: a row with both is this insert's own, stored before a retry.
        await Table.AddOnceAsync(entity, stored => stored.SecretHash == entity.SecretHash, ct);
        var key = entity.ToDomain();
        if (key.Scopes.Contains(Auth.Scopes.AccountOwner)) await CountAsOwnerAsync(key, ct);
        return new CreatedApiKey(key, $"{keyId}.{secret}");
    }

    /// <summary>The key if the credential matches an active key; null otherwise (unknown, wrong secret, revoked, expired).</summary>
    public async Task<ApiKey?> VerifyAsync(ApiKeyCredential credential, CancellationToken ct)
    {
        if (credential.KeyId is null) return null;
        var row = await Table.GetEntityIfExistsAsync<ApiKeyEntity>(credential.KeyId, RowKey, cancellationToken: ct);
        if (!row.HasValue || row.Value is null) return null;
        var matches = CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(row.Value.SecretHash), Encoding.ASCII.GetBytes(Hash(credential.Secret)));
        var key = row.Value.ToDomain();
        return matches && key.IsActive(clock.GetUtcNow()) ? key : null;
    }

    public async Task<ApiKey> GetAsync(string tenantId, string keyId, CancellationToken ct) => (await ReadOwnAsync(tenantId, keyId, ct)).ToDomain();

    /// <summary>The tenant's own key row; another tenant's key is reported as missing.</summary>
    private async Task<ApiKeyEntity> ReadOwnAsync(string tenantId, string keyId, CancellationToken ct)
    {
        var row = await Table.GetEntityIfExistsAsync<ApiKeyEntity>(keyId, RowKey, cancellationToken: ct);
        return row.HasValue && row.Value is not null && row.Value.TenantId == tenantId ? row.Value : throw FleetException.NotFound("API key", keyId);
    }

    /// <summary>A tenant's keys. The key table is small and keyed by key id, so this filters one table server-side.</summary>
    public Task<ListPage<ApiKey>> ListAsync(string tenantId, PageRequest page, CancellationToken ct) =>
        TablePager.ReadAsync<ApiKeyEntity, ApiKey>(Table, $"TenantId eq {TableFilters.Quote(tenantId)}", page, e => e.ToDomain(), ct);

    /// <summary>The tenant's keys that hold <c>account:owner</c> and still work.</summary>
    private async Task<IReadOnlyList<ApiKey>> ActiveOwnersAsync(string tenantId, CancellationToken ct)
    {
        var owners = new List<ApiKey>();
        var now = clock.GetUtcNow();
        await foreach (var entity in Table.QueryAsync<ApiKeyEntity>($"TenantId eq {TableFilters.Quote(tenantId)}", cancellationToken: ct))
            if (entity.ToDomain() is { } key && key.IsActive(now) && key.Scopes.Contains(Scopes.AccountOwner)) owners.Add(key);
        return owners;
    }

    /// <summary>
    /// Revokes the key (once); returns it as it was and as it is now. An owner key is first taken out of the tenant's
    /// owner roll by a conditional write, which is refused when no other owner would be left: two owners revoking each
    /// other at once cannot both succeed.
    /// </summary>
    public async Task<(ApiKey Before, ApiKey After)> RevokeAsync(string tenantId, string keyId, CancellationToken ct)
    {
        var entity = await ReadOwnAsync(tenantId, keyId, ct);
        var before = entity.ToDomain();
        if (entity.RevokedAt is not null) return (before, before);
        if (before.IsActive(clock.GetUtcNow()) && before.Scopes.Contains(Auth.Scopes.AccountOwner)) await StopCountingAsOwnerAsync(before, ct);
        entity.RevokedAt = clock.GetUtcNow();
        await Table.UpdateEntityAsync(entity, entity.ETag, Azure.Data.Tables.TableUpdateMode.Replace, ct);
        return (before, entity.ToDomain());
    }

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
