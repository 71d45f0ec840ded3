namespace ServerlessFleet.Functions.Hosting;

/// <summary>How an HTTP function is authenticated; every HTTP function carries exactly one, next to its trigger.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public abstract class AccessAttribute : Attribute
{
    /// <summary>The error statuses the rule itself can answer with, besides what the handler declares.</summary>
    public abstract IReadOnlyList<int> ErrorStatuses { get; }
}

/// <summary>An API key of the tenant that holds <see cref="Scope"/>.</summary>
public sealed class RequireScopeAttribute(string scope) : AccessAttribute
{
    public string Scope { get; } = scope;
    public override IReadOnlyList<int> ErrorStatuses => [400, 401, 403, 404, 429];
}

/// <summary>Any valid API key; the handler checks a scope that depends on the request (an action's type).</summary>
public sealed class RequireApiKeyAttribute : AccessAttribute
{
    public override IReadOnlyList<int> ErrorStatuses => [400, 401, 403, 404, 429];
}

/// <summary>Only the bootstrap key from settings.</summary>
public sealed class RequireBootstrapKeyAttribute : AccessAttribute
{
    public override IReadOnlyList<int> ErrorStatuses => [400, 401, 403, 404, 409, 429];
}

/// <summary>A device token (JWT from POST /api/device/v1/auth); API keys are refused.</summary>
public sealed class RequireDeviceAttribute : AccessAttribute
{
    public override IReadOnlyList<int> ErrorStatuses => [400, 401, 404, 409, 429];
}

/// <summary>No credentials (health, the OpenAPI document, the API reference, device authentication).</summary>
public sealed class AllowAnonymousAccessAttribute : AccessAttribute
{
    public override IReadOnlyList<int> ErrorStatuses => [429];
}

/// <summary>The function honours <c>Idempotency-Key</c> (the <c>IdempotencyKeys</c> middleware reads it).</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class AcceptIdempotencyKeyAttribute : Attribute
{
    /// <summary>
    /// A repeat runs the handler again with the first response's stored record (<see cref="Conventions.IdempotentReplay"/>),
    /// for responses holding something that must not be stored (a signed link) and is made afresh instead.
    /// </summary>
    public bool ReplayThroughHandler { get; init; }
}

/// <summary>
/// The static method of the same class that handles the request: its parameters are bound by ASP.NET Core's request
/// delegate factory (route values, query, JSON body, services, <c>Caller</c>), and its signature describes the operation
/// in the OpenAPI document.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class HandledByAttribute(string method) : Attribute
{
    public string Method { get; } = method;
}

/// <summary>The request body a handler reads itself (multipart, a signed raw body), for the OpenAPI document.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class AcceptsAttribute<T>(params string[] contentTypes) : Attribute, IAcceptsMetadata
{
    public IReadOnlyList<string> ContentTypes { get; } = contentTypes;
    public Type? RequestType => typeof(T);
    public bool IsOptional => false;
}

/// <summary>A request header the handler reads itself, for the OpenAPI document.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true, Inherited = false)]
public sealed class RequestHeaderAttribute(string name, string description) : Attribute
{
    public string Name { get; } = name;
    public string Description { get; } = description;
    public bool Required { get; init; }
}
