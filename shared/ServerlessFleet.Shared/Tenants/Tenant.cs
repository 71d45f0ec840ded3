using System.Text.RegularExpressions;

namespace ServerlessFleet.Shared.Tenants;

/// <summary>A tenant. <see cref="TenantToken"/> is what its devices present when they first authenticate.</summary>
public sealed record Tenant(string TenantId, string Name, DateTimeOffset CreatedAt, int? MaxDevices, string TenantToken);

public static partial class TenantIds
{
    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex Pattern();

    public static bool IsValid(string id) => Pattern().IsMatch(id);
}
