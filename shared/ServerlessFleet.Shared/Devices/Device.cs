using System.Text.Json.Nodes;

namespace ServerlessFleet.Shared.Devices;

/// <summary>Admission status of a device (Mender device auth), plus <c>decommissioned</c> for removed devices.</summary>
public static class DeviceStatuses
{
    public const string NoAuth = "noauth";
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
    public const string Preauthorized = "preauthorized";
    public const string Decommissioned = "decommissioned";

    public static readonly IReadOnlySet<string> All = new HashSet<string> { NoAuth, Pending, Accepted, Rejected, Preauthorized, Decommissioned };
}

/// <summary>
/// A device of one tenant, keyed by serial. <see cref="Release"/>, <see cref="BatteryPercent"/> and
/// <see cref="Imei"/> are projections of well-known inventory attributes, kept as columns so lists can
/// filter on them in storage.
/// </summary>
public sealed record Device(
    string TenantId,
    string Serial,
    string? Name,
    string? OwnerRef,
    string HardwareVersion,
    string? DeviceType,
    string Group,
    IReadOnlyList<string> Tags,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastSeen,
    IReadOnlyDictionary<AttributeScope, IReadOnlyDictionary<string, JsonNode?>> Attributes,
    Azure.ETag ETag = default)
{
    public const string UnassignedGroup = "unassigned";

    /// <summary>Device tokens issued before this time are no longer accepted (set when the device is rejected).</summary>
    public DateTimeOffset? TokensValidAfter { get; init; }

    /// <summary>Sequence number of the newest entry in the device's action inbox.</summary>
    public long InboxSeq { get; init; }

    /// <summary>The device's current deployment and the ones waiting behind it.</summary>
    public DeviceDeploymentQueue Deployments { get; init; } = DeviceDeploymentQueue.Empty;

    /// <summary>Invalid reports in a row (refused with 400 or 409); its polls are told to wait longer until a valid one.</summary>
    public int InvalidReports { get; init; }

    /// <summary>Individually revoked tokens that have not expired yet.</summary>
    public IReadOnlyList<RevokedToken> RevokedTokens { get; init; } = [];

    public string? Release => Inventory("artifact_name", "release") is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public double? BatteryPercent => Inventory("battery_percent", "batteryPercent") is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
        ? double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) : null;

    public string? Imei => Inventory("imei") is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public IReadOnlyDictionary<string, JsonNode?> Scope(AttributeScope scope) =>
        Attributes.TryGetValue(scope, out var a) ? a : new Dictionary<string, JsonNode?>();

    public IEnumerable<DeviceAttribute> AllAttributes() =>
        Attributes.OrderBy(s => s.Key).SelectMany(s => s.Value.OrderBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => new DeviceAttribute(a.Key, a.Value?.DeepClone(), s.Key)));

    public Device WithScope(AttributeScope scope, IReadOnlyDictionary<string, JsonNode?> attributes)
    {
        var all = Attributes.ToDictionary(a => a.Key, a => a.Value);
        all[scope] = attributes;
        return this with { Attributes = all };
    }

    /// <summary>The device with <paramref name="installed"/> as the release its inventory names (<c>artifact_name</c>, <c>artifact_version</c>).</summary>
    public Device WithInstalled(DeploymentArtifact installed)
    {
        var inventory = Scope(AttributeScope.Inventory);
        if (inventory.GetValueOrDefault("artifact_name")?.ToString() == installed.Name && inventory.GetValueOrDefault("artifact_version")?.ToString() == installed.Version)
            return this;
        var next = inventory.ToDictionary(a => a.Key, a => a.Value?.DeepClone(), StringComparer.Ordinal);
        next["artifact_name"] = installed.Name;
        next["artifact_version"] = installed.Version;
        return WithScope(AttributeScope.Inventory, next);
    }

    private JsonNode? Inventory(params string[] names)
    {
        var inventory = Scope(AttributeScope.Inventory);
        foreach (var name in names)
            if (inventory.TryGetValue(name, out var value) && value is not null) return value;
        return null;
    }
}

public sealed record RevokedToken(string Jti, DateTimeOffset ExpiresAt);

public sealed record NewDevice(string Serial, string? Name, string? OwnerRef, string HardwareVersion, string? DeviceType,
    string Group, IReadOnlyList<string> Tags);
