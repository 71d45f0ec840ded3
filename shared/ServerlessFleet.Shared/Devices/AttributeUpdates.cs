using System.Text.Json.Nodes;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Devices;

/// <summary>
/// PATCH upserts the given attributes into their scopes; PUT replaces whole scopes (those written, or named)
/// and leaves the other scopes alone. Either way every scope stays within its limits.
/// </summary>
public static class AttributeUpdates
{
    public static Device Upsert(Device device, IReadOnlyList<DeviceAttribute> attributes)
    {
        foreach (var scope in attributes.Select(a => a.Scope).Distinct())
        {
            var merged = device.Scope(scope).ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
            foreach (var a in attributes.Where(a => a.Scope == scope)) merged[a.Name] = a.Value?.DeepClone();
            device = device.WithScope(scope, Checked(scope, merged));
        }
        return WithReportedType(device, attributes);
    }

    public static Device Replace(Device device, IReadOnlyCollection<AttributeScope> scopes, IReadOnlyList<DeviceAttribute> attributes)
    {
        foreach (var scope in scopes.Union(attributes.Select(a => a.Scope)))
        {
            var replacement = attributes.Where(a => a.Scope == scope)
                .ToDictionary(a => a.Name, a => a.Value?.DeepClone(), StringComparer.Ordinal);
            device = device.WithScope(scope, Checked(scope, replacement));
        }
        return WithReportedType(device, attributes);
    }

    /// <summary>
    /// A device that reports its type the way Mender devices do (<c>device_type</c> in its inventory or identity) has
    /// that type: deployments pick artifacts by it. The inventory's report wins over the identity's.
    /// </summary>
    private static Device WithReportedType(Device device, IReadOnlyList<DeviceAttribute> written)
    {
        var reported = written.Where(a => a.Name == DeviceTypeAttribute && a.Scope is AttributeScope.Inventory or AttributeScope.Identity)
            .OrderBy(a => a.Scope == AttributeScope.Inventory ? 0 : 1)
            .Select(a => a.Value is JsonValue v && v.TryGetValue<string>(out var type) ? type.Trim() : null)
            .FirstOrDefault(t => !string.IsNullOrEmpty(t));
        return reported is null || reported.Length > 64 ? device : device with { DeviceType = reported };
    }

    public const string DeviceTypeAttribute = "device_type";

    private static Dictionary<string, JsonNode?> Checked(AttributeScope scope, Dictionary<string, JsonNode?> attributes)
    {
        var name = scope.ScopeName();
        if (attributes.Count > AttributeRules.MaxPerScope)
            throw FleetException.Validation("attributes", $"Scope {name} would hold {attributes.Count} attributes; the limit is {AttributeRules.MaxPerScope}.");
        var size = new JsonObject(attributes.Select(a => KeyValuePair.Create(a.Key, a.Value?.DeepClone()))).ToJsonString().Length;
        if (size > AttributeRules.MaxScopeJsonLength)
            throw FleetException.Validation("attributes", $"Scope {name} would take {size} characters; the limit is {AttributeRules.MaxScopeJsonLength}.");
        return attributes;
    }
}

/// <summary>Work a device's decommissioning must stop elsewhere (auth sets, deployments, actions); each feature adds one.</summary>
public interface IDeviceDecommissionHook
{
    Task OnDecommissionedAsync(Device device, CancellationToken ct);
}
