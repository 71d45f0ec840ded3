using ServerlessFleet.Functions.Conventions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Tenants;

namespace ServerlessFleet.Functions.Tenants;

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

    private static async Task<Created<CreatedTenantResponse>> CreateAsync(CreateTenantRequest request, TenantOnboarding onboarding, Auditor audit,
        CancellationToken ct)
    {
        var created = await onboarding.CreateAsync(audit.Actor(), request, ct);
        return TypedResults.Created($"/api/v1/tenants/{created.Tenant.TenantId}", created);
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
