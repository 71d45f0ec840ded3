namespace ServerlessFleet.Shared.Orchestration;

/// <summary>
/// Orchestration instance ids: derived from the operation they drive, so starting is idempotent, and prefixed with
/// the tenant, so one tenant's instances are one prefix query and another tenant's id is recognised as foreign.
/// Tenant ids never contain ':'.
/// </summary>
public static class OrchestrationIds
{
    public static string Deployment(string tenantId, string deploymentId) => $"{tenantId}:deployment:{deploymentId}";
    public static string Action(string tenantId, string actionId) => $"{tenantId}:action:{actionId}";

    public static string TenantPrefix(string tenantId) => tenantId + ":";

    public static bool BelongsTo(string instanceId, string tenantId) => instanceId.StartsWith(TenantPrefix(tenantId), StringComparison.Ordinal);

    /// <summary>The operation an instance drives: ("deployment", id), ("action", id), or null for any other instance.</summary>
    public static (string Kind, string Id)? Operation(string instanceId) =>
        instanceId.Split(':') is [_, var kind and ("deployment" or "action"), var id] ? (kind, id) : null;
}
