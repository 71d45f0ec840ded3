using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Conventions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Tenants;

namespace ServerlessFleet.Functions.Tenants;

public sealed record CreateTenantRequest(string? TenantId, string? Name, int? MaxDevices);

/// <summary><c>tenantToken</c> (what devices present to enrol) is shown to keys that may admit devices.</summary>
public sealed record TenantResponse(string TenantId, string Name, DateTimeOffset CreatedAt, int? MaxDevices, string? TenantToken)
{
    public static TenantResponse From(Tenant t, bool withToken = true) => new(t.TenantId, t.Name, t.CreatedAt, t.MaxDevices, withToken ? t.TenantToken : null);
}

/// <summary>A new tenant comes with its first <c>account:owner</c> key, so it can be administered at once.</summary>
public sealed record CreatedTenantResponse(TenantResponse Tenant, CreatedApiKeyResponse OwnerKey);

public static class TenantsApi
{
    [Function("CreateTenant"), Tags("Tenants"), RequireBootstrapKey, HandledBy(nameof(CreateAsync))]
    [EndpointSummary("Create a tenant and its first owner key (bootstrap key only)")]
    public static Task<IResult> CreateTenant([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/tenants")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetCurrentTenant"), Tags("Tenants"), RequireApiKey, HandledBy(nameof(GetCurrentAsync))]
    [EndpointSummary("The tenant of the calling key")]
    public static Task<IResult> GetCurrentTenant([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/tenants/current")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetTenant"), Tags("Tenants"), RequireApiKey, HandledBy(nameof(GetAsync))]
    [EndpointSummary("A tenant: the caller's own (any key), or any tenant (bootstrap key); another tenant is not found")]
    public static Task<IResult> GetTenant([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/tenants/{tenantId}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<Created<CreatedTenantResponse>> CreateAsync(CreateTenantRequest request, Caller caller,
        TenantStore tenants, ApiKeyStore keys, Auditor audit, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.TenantId is not null && TenantIds.IsValid(request.TenantId), "tenantId",
            "tenantId is required: 3-63 lowercase letters, digits or '-', starting and ending with a letter or digit.");
        errors.Require(request.Name is null || request.Name.Length is > 0 and <= 200, "name", "name must be 1-200 characters.");
        errors.Require(request.MaxDevices is null or > 0, "maxDevices", "maxDevices must be positive.");
        errors.ThrowIfAny();

        var tenant = await tenants.CreateAsync(request.TenantId!, request.Name ?? request.TenantId!, request.MaxDevices, ct);
        var owner = await keys.CreateAsync(tenant.TenantId, "owner", [Scopes.AccountOwner], null, caller.KeyId, ct);
        await audit.RecordAsync("tenant.create", "tenant", tenant.TenantId, null, TenantResponse.From(tenant, withToken: false), ct);
        return TypedResults.Created($"/api/v1/tenants/{tenant.TenantId}", new CreatedTenantResponse(
            TenantResponse.From(tenant), new CreatedApiKeyResponse(ApiKeyResponse.From(owner.Key, clock.GetUtcNow()), owner.Secret)));
    }

    /// <summary>What <c>Location</c> of a created tenant points at: readable by its creator (the bootstrap key) and its own keys.</summary>
    private static async Task<Ok<TenantResponse>> GetAsync(string tenantId, Caller caller, TenantStore tenants, CancellationToken ct)
    {
        if (tenantId != caller.TenantId && !caller.Principal.IsBootstrap) throw FleetException.NotFound("Tenant", tenantId);
        var tenant = await tenants.FindAsync(tenantId, ct) ?? throw FleetException.NotFound("Tenant", tenantId);
        return TypedResults.Ok(TenantResponse.From(tenant, caller.Principal.IsBootstrap || caller.Principal.Has(Scopes.FleetManager)));
    }

    private static async Task<Ok<TenantResponse>> GetCurrentAsync(Caller caller, TenantStore tenants, CancellationToken ct) =>
        TypedResults.Ok(TenantResponse.From(await tenants.GetAsync(caller.TenantId, ct), caller.Principal.Has(Scopes.FleetManager)));
}
