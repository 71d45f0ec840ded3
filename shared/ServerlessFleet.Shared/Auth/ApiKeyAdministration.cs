using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Auth;

public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes, DateTimeOffset? ExpiresAt);

public sealed record ApiKeyResponse(string KeyId, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string CreatedBy, string Status)
{
    public static ApiKeyResponse From(ApiKey key, DateTimeOffset now) => new(key.KeyId, key.Name, key.Scopes, key.CreatedAt,
        key.ExpiresAt, key.RevokedAt, key.CreatedBy, key.RevokedAt is not null ? "revoked" : key.IsActive(now) ? "active" : "expired");
}

/// <summary>The secret appears in this response only; it is stored as a hash.</summary>
public sealed record CreatedApiKeyResponse(ApiKeyResponse Key, string Secret);

/// <summary>Creating and revoking a tenant's API keys, each audited. A key never hands out or takes away more than it holds.</summary>
public sealed class ApiKeyAdministration(ApiKeyStore store, AuditLog audit, TimeProvider clock)
{
    public async Task<CreatedApiKeyResponse> CreateAsync(Actor actor, CreateApiKeyRequest request, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var name = request.Name?.Trim();
        errors.Require(!string.IsNullOrEmpty(name) && name.Length <= 100, "name", "name is required (1-100 characters).");
        var scopes = request.Scopes ?? [];
        errors.Require(scopes.Count > 0, "scopes", "At least one scope is required.");
        foreach (var unknown in scopes.Where(s => !Scopes.IsKnown(s)))
            errors.Add("scopes", $"Unknown scope '{unknown}'.");
        errors.Require(request.ExpiresAt is null || request.ExpiresAt > clock.GetUtcNow(), "expiresAt", "expiresAt must be in the future.");
        errors.ThrowIfAny();

        // A key can only hand out what it holds itself, so a user:admin key cannot mint an account:owner key.
        var escalated = scopes.Where(s => !actor.Principal.Has(s)).ToList();
        if (escalated.Count > 0)
            throw FleetException.Forbidden($"A key cannot grant scopes it does not hold: {string.Join(", ", escalated)}.");

        var created = await store.CreateAsync(actor.TenantId, name!, scopes, request.ExpiresAt, actor.KeyId, ct);
        var key = ApiKeyResponse.From(created.Key, clock.GetUtcNow());
        await audit.RecordAsync(actor, "apikey.create", "apikey", key.KeyId, null, key, ct);
        return new CreatedApiKeyResponse(key, created.Secret);
    }

    /// <summary>
    /// A key revokes only keys it could have created (every scope of the target is one it holds), so a lower key never
    /// takes a higher one away; and the tenant's last working owner key is never revoked, so a tenant is never left
    /// without an owner (create another owner key first, then revoke the old one).
    /// </summary>
    public async Task<ApiKeyResponse> RevokeAsync(Actor actor, string keyId, CancellationToken ct)
    {
        var target = await store.GetAsync(actor.TenantId, keyId, ct);
        var beyond = target.Scopes.Where(s => !actor.Principal.Has(s)).ToList();
        if (beyond.Count > 0)
            throw FleetException.Forbidden($"A key can revoke only keys whose scopes it holds itself; this key has {string.Join(", ", beyond)}.");
        var (before, after) = await store.RevokeAsync(actor.TenantId, keyId, ct);
        var now = clock.GetUtcNow();
        var revoked = ApiKeyResponse.From(after, now);
        await audit.RecordAsync(actor, "apikey.revoke", "apikey", keyId, ApiKeyResponse.From(before, now), revoked, ct);
        return revoked;
    }
}
