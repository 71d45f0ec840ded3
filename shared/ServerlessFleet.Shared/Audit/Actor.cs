namespace ServerlessFleet.Shared.Audit;

/// <summary>Who asks for a change, as the audit log records it: the tenant, the API key and the request.</summary>
public sealed record Actor(string TenantId, string KeyId, string? RequestId);
