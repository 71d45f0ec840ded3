using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Auth;

public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes, DateTimeOffset? ExpiresAt);

public sealed record ApiKeyResponse(string KeyId, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string CreatedBy, string Status)
{
    public static ApiKeyResponse From(ApiKey key, DateTimeOffset now) => new(key.KeyId, key.Name, key.Scopes, key.CreatedAt,
        key.ExpiresAt, key.RevokedAt, key.CreatedBy, key.RevokedAt is not null ? "revoked" : key.IsActive(now) ? "active" : "expired");
}

/// <summary>The secret appears in this response only; it is stored as a hash.</summary>
public sealed record CreatedApiKeyResponse(ApiKeyResponse Key, string Secret);

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

    private static async Task<Created<CreatedApiKeyResponse>> CreateAsync(CreateApiKeyRequest request, Caller caller,
        ApiKeyStore store, Auditor audit, TimeProvider clock, CancellationToken ct)
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
        var escalated = scopes.Where(s => !caller.Principal.Has(s)).ToList();
        if (escalated.Count > 0)
            throw FleetException.Forbidden($"A key cannot grant scopes it does not hold: {string.Join(", ", escalated)}.");

        var created = await store.CreateAsync(caller.TenantId, name!, scopes, request.ExpiresAt, caller.KeyId, ct);
        var key = ApiKeyResponse.From(created.Key, clock.GetUtcNow());
        await audit.RecordAsync("apikey.create", "apikey", key.KeyId, null, key, ct);
        return TypedResults.Created($"/api/v1/api-keys/{created.Key.KeyId}", new CreatedApiKeyResponse(key, created.Secret));
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

    /// <summary>
    /// A key revokes only keys it could have created (every scope of the target is one it holds), so a lower key never
    /// takes a higher one away; and the tenant's last working owner key is never revoked, so a tenant is never left
    /// without an owner (create another owner key first, then revoke the old one).
    /// </summary>
    private static async Task<Ok<ApiKeyResponse>> RevokeAsync(string keyId, Caller caller, ApiKeyStore store, Auditor audit, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var target = await store.GetAsync(caller.TenantId, keyId, ct);
        var beyond = target.Scopes.Where(s => !caller.Principal.Has(s)).ToList();
        if (beyond.Count > 0)
            throw FleetException.Forbidden($"A key can revoke only keys whose scopes it holds itself; this key has {string.Join(", ", beyond)}.");
        if (target.IsActive(now) && target.Scopes.Contains(Scopes.AccountOwner)
            && (await store.ActiveOwnersAsync(caller.TenantId, ct)).All(owner => owner.KeyId == keyId))
            throw FleetException.Conflict("This is the tenant's last owner key; create another account:owner key before revoking it.");
        var (before, after) = await store.RevokeAsync(caller.TenantId, keyId, ct);
        var revoked = ApiKeyResponse.From(after, now);
        await audit.RecordAsync("apikey.revoke", "apikey", keyId, ApiKeyResponse.From(before, now), revoked, ct);
        return TypedResults.Ok(revoked);
    }
}
