using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;

namespace ServerlessFleet.Functions.Auth;

public static class ApiKeysApi
{
    [Function("CreateApiKey"), Tags("API keys"), RequireScope(Scopes.UserAdmin), HandledBy(nameof(CreateAsync))]
    [EndpointSummary("Create an API key; the secret is shown once")]
    public static Task<IResult> CreateApiKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/api-keys")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ListApiKeys"), Tags("API keys"), RequireScope(Scopes.UserRead), HandledBy(nameof(ListAsync))]
    [EndpointSummary("List the tenant's API keys")]
    public static Task<IResult> ListApiKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/api-keys")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetApiKey"), Tags("API keys"), RequireScope(Scopes.UserRead), HandledBy(nameof(GetAsync))]
    [EndpointSummary("An API key of the tenant (never its secret)")]
    public static Task<IResult> GetApiKey([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/api-keys/{keyId}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("RevokeApiKey"), Tags("API keys"), RequireScope(Scopes.UserAdmin), HandledBy(nameof(RevokeAsync))]
    [EndpointSummary("Revoke an API key")]
    public static Task<IResult> RevokeApiKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/api-keys/{keyId}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<Created<CreatedApiKeyResponse>> CreateAsync(CreateApiKeyRequest request, ApiKeyAdministration administration, Auditor audit,
        CancellationToken ct)
    {
        var created = await administration.CreateAsync(audit.Actor(), request, ct);
        return TypedResults.Created($"/api/v1/api-keys/{created.Key.KeyId}", created);
    }

    private static async Task<Ok<ApiKeyResponse>> GetAsync(string keyId, Caller caller, ApiKeyStore store, TimeProvider clock, CancellationToken ct) =>
        TypedResults.Ok(ApiKeyResponse.From(await store.GetAsync(caller.TenantId, keyId, ct), clock.GetUtcNow()));

    private static async Task<Ok<PagedResponse<ApiKeyResponse>>> ListAsync([AsParameters] PagingQuery query, HttpContext context,
        Caller caller, Paging paging, ApiKeyStore store, TimeProvider clock, CancellationToken ct)
    {
        var page = await store.ListAsync(caller.TenantId, paging.Parse(context, query), ct);
        var now = clock.GetUtcNow();
        return TypedResults.Ok(paging.Respond(context, page.Map(k => ApiKeyResponse.From(k, now))));
    }

    private static async Task<Ok<ApiKeyResponse>> RevokeAsync(string keyId, ApiKeyAdministration administration, Auditor audit, CancellationToken ct) =>
        TypedResults.Ok(await administration.RevokeAsync(audit.Actor(), keyId, ct));
}
