namespace ServerlessFleet.Functions.Hosting;

/// <summary>How a route is authenticated; every HTTP function carries exactly one of these, declared beside its route.</summary>
public abstract record AccessMetadata;

/// <summary>An API key is required; <see cref="Scope"/> null means any valid key of the tenant.</summary>
public sealed record ApiKeyAccess(string? Scope) : AccessMetadata;

/// <summary>Only the bootstrap key from settings.</summary>
public sealed record BootstrapAccess : AccessMetadata;

/// <summary>A device token (JWT from POST /api/device/v1/auth); API keys are refused.</summary>
public sealed record DeviceAccess : AccessMetadata;

/// <summary>No credentials (health, the OpenAPI document, the API reference).</summary>
public sealed record AnonymousAccess : AccessMetadata;
