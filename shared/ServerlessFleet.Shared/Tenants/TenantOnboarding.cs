using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Tenants;

public sealed record CreateTenantRequest(string? TenantId, string? Name, int? MaxDevices);

/// <summary><c>tenantToken</c> (what devices present to enrol) is shown to keys that may admit devices.</summary>
public sealed record TenantResponse(string TenantId, string Name, DateTimeOffset CreatedAt, int? MaxDevices, string? TenantToken)
{
    public static TenantResponse From(Tenant t, bool withToken = true) => new(t.TenantId, t.Name, t.CreatedAt, t.MaxDevices, withToken ? t.TenantToken : null);
}

/// <summary>A new tenant comes with its first <c>account:owner</c> key, so it can be administered at once.</summary>
public sealed record CreatedTenantResponse(TenantResponse Tenant, CreatedApiKeyResponse OwnerKey);

/// <summary>Creating a tenant (the bootstrap key's one task) with its first owner key, audited.</summary>
public sealed class TenantOnboarding(TenantStore tenants, ApiKeyStore keys, AuditLog audit, TimeProvider clock)
{
    public async Task<CreatedTenantResponse> CreateAsync(Actor actor, CreateTenantRequest request, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.TenantId is not null && TenantIds.IsValid(request.TenantId), "tenantId",
            "tenantId is required: 3-63 lowercase letters, digits or '-', starting and ending with a letter or digit.");
        errors.Require(request.Name is null || request.Name.Length is > 0 and <= 200, "name", "name must be 1-200 characters.");
        errors.Require(request.MaxDevices is null or > 0, "maxDevices", "maxDevices must be positive.");
        errors.ThrowIfAny();

        var tenant = await tenants.CreateAsync(request.TenantId!, request.Name ?? request.TenantId!, request.MaxDevices, ct);
        var owner = await keys.CreateAsync(tenant.TenantId, "owner", [Scopes.AccountOwner], null, actor.KeyId, ct);
        await audit.RecordAsync(actor, "tenant.create", "tenant", tenant.TenantId, null, TenantResponse.From(tenant, withToken: false), ct);
        return new CreatedTenantResponse(TenantResponse.From(tenant), new CreatedApiKeyResponse(ApiKeyResponse.From(owner.Key, clock.GetUtcNow()), owner.Secret));
    }
}
