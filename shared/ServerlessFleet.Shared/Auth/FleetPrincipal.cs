namespace ServerlessFleet.Shared.Auth;

/// <summary>Who is calling: the tenant every read and write is confined to, the key, and its effective scopes.</summary>
public sealed record FleetPrincipal(string TenantId, string KeyId, IReadOnlySet<string> EffectiveScopes, bool IsBootstrap = false)
{
    public bool Has(string scope) => EffectiveScopes.Contains(scope);
}
