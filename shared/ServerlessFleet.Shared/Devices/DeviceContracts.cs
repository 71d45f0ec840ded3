using System.Text.Json.Nodes;

namespace ServerlessFleet.Shared.Devices;

public sealed record CreateDeviceRequest(string? Serial, string? OwnerRef, string? HardwareVersion, string? DeviceType,
    string? Name, string? Group, IReadOnlyList<string>? Tags);

public sealed record AttributeRequest(string? Name, JsonNode? Value, string? Scope);

public sealed record AttributeResponse(string Name, JsonNode? Value, string Scope)
{
    public static AttributeResponse From(DeviceAttribute a) => new(a.Name, a.Value, a.Scope.ScopeName());
}

public sealed record SetTagsRequest(IReadOnlyList<string>? Tags);

public sealed record DeviceResponse(
    string Serial, string? Name, string? OwnerRef, string HardwareVersion, string? DeviceType, string Group,
    IReadOnlyList<string> Tags, string Status, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? LastSeen,
    string? Release, double? BatteryPercent, string? Imei, IReadOnlyList<AttributeResponse>? Attributes, int InvalidReports)
{
    public static DeviceResponse From(Device d, bool withAttributes = false) => new(d.Serial, d.Name, d.OwnerRef, d.HardwareVersion,
        d.DeviceType, d.Group, d.Tags, d.Status, d.CreatedAt, d.UpdatedAt, d.LastSeen, d.Release, d.BatteryPercent, d.Imei,
        withAttributes ? d.AllAttributes().Select(AttributeResponse.From).ToList() : null, d.InvalidReports);
}
