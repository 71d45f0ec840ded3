namespace ServerlessFleet.Shared.Auth;

/// <summary>An API key as the API shows it: never the secret, which exists only in the creation response.</summary>
public sealed record ApiKey(
    string KeyId,
    string TenantId,
    string Name,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    string CreatedBy)
{
    public bool IsActive(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

public sealed record CreatedApiKey(ApiKey Key, string Secret);
