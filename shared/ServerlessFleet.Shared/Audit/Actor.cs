using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Audit;

/// <summary>Who asks for a change: the authenticated key (its tenant and scopes) and the request, as the audit log records it.</summary>
public sealed record Actor(FleetPrincipal Principal, string? RequestId)
{
    public string TenantId => Principal.TenantId;
    public string KeyId => Principal.KeyId;

    /// <summary>For rules whose scope depends on what is asked (an action's type), which no route-level check can know.</summary>
    public void Require(string scope, string what)
    {
        if (!Principal.Has(scope)) throw FleetException.Forbidden($"{what} requires the '{scope}' scope.");
    }
}
