using System.Text.Json;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Devices;

/// <summary>A PATCH body: present fields change (null clears optional ones), absent fields stay.</summary>
public sealed record DevicePatch(Optional<string?> Name, Optional<string?> OwnerRef, Optional<string?> HardwareVersion, Optional<string?> DeviceType)
{
    private static readonly HashSet<string> Editable = ["name", "ownerRef", "hardwareVersion", "deviceType"];

    public static DevicePatch Parse(JsonElement body)
    {
        var errors = new ValidationErrors();
        if (body.ValueKind != JsonValueKind.Object) throw FleetException.Validation("body", "The body must be a JSON object.");
        foreach (var p in body.EnumerateObject().Where(p => !Editable.Contains(p.Name)))
            errors.Add(p.Name, p.Name switch
            {
                "group" => "Devices change group through POST /api/v1/groups/{name}/devices:move.",
                "serial" => "serial cannot change.",
                "tags" => "Tags are set with PUT /api/v1/devices/{serial}/tags.",
                _ => $"'{p.Name}' is not an editable device field.",
            });
        Optional<string?> Read(string name, int max, bool nullable)
        {
            if (!body.TryGetProperty(name, out var v)) return default;
            if (v.ValueKind == JsonValueKind.Null && nullable) return new(null);
            if (v.ValueKind != JsonValueKind.String) { errors.Add(name, nullable ? $"{name} is a string or null." : $"{name} is a string."); return default; }
            errors.CheckText(name, v.GetString(), max);
            return new(v.GetString());
        }
        var patch = new DevicePatch(Read("name", 128, true), Read("ownerRef", 128, true), Read("hardwareVersion", 64, false), Read("deviceType", 64, true));
        errors.ThrowIfAny();
        return patch;
    }

    public Device ApplyTo(Device d) => d with
    {
        Name = Name.Or(d.Name),
        OwnerRef = OwnerRef.Or(d.OwnerRef),
        HardwareVersion = HardwareVersion.Or(d.HardwareVersion) ?? d.HardwareVersion,
        DeviceType = DeviceType.Or(d.DeviceType),
    };
}

/// <summary>A value that may be absent (as opposed to present and null).</summary>
public readonly record struct Optional<T>(T Value)
{
    public bool HasValue { get; } = true;
    public T Or(T fallback) => HasValue ? Value : fallback;
}
