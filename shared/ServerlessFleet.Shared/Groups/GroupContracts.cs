using System.Text.Json;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Groups;

public sealed record CreateGroupRequest(string? Name, string? Description, string? DeviceType, Dictionary<string, string>? DesiredReleases);

public sealed record MoveDevicesRequest(IReadOnlyList<string>? Devices);

public sealed record GroupResponse(string Name, string? Description, string? DeviceType, int DeviceCount, int DevicesUpToDateCount,
    IReadOnlyDictionary<string, string> DesiredReleases, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static GroupResponse From(GroupWithCounts g) => new(g.Group.Name, g.Group.Description, g.Group.DeviceType, g.DeviceCount,
        g.DevicesUpToDateCount, g.Group.DesiredReleases, g.Group.CreatedAt, g.Group.UpdatedAt);
}

/// <summary>A group's PATCH body: present fields change (null clears description and the type lock), absent fields stay.</summary>
public sealed record GroupPatch(Optional<string?> Description, Optional<string?> DeviceType, IReadOnlyDictionary<string, string>? DesiredReleases)
{
    private static readonly HashSet<string> Editable = ["description", "deviceType", "desiredReleases"];

    public static GroupPatch Parse(JsonElement body)
    {
        var errors = new ValidationErrors();
        if (body.ValueKind != JsonValueKind.Object) throw FleetException.Validation("body", "The body must be a JSON object.");
        foreach (var p in body.EnumerateObject().Where(p => !Editable.Contains(p.Name)))
            errors.Add(p.Name, p.Name == "name" ? "Groups cannot be renamed." : $"'{p.Name}' is not an editable group field.");
        Optional<string?> Read(string name, int max)
        {
            if (!body.TryGetProperty(name, out var v)) return default;
            if (v.ValueKind == JsonValueKind.Null) return new(null);
            if (v.ValueKind != JsonValueKind.String) { errors.Add(name, $"{name} is a string or null."); return default; }
            errors.CheckText(name, v.GetString(), max);
            return new(v.GetString());
        }
        var description = Read("description", 500);
        var deviceType = Read("deviceType", 64);
        Dictionary<string, string>? releases = null;
        if (body.TryGetProperty("desiredReleases", out var r))
        {
            try { releases = r.ValueKind == JsonValueKind.Null ? [] : r.Deserialize<Dictionary<string, string>>(); }
            catch (JsonException) { errors.Add("desiredReleases", "desiredReleases maps an artifact kind to a release name."); }
            GroupRules.CheckReleases(errors, releases);
        }
        errors.ThrowIfAny();
        return new GroupPatch(description, deviceType, releases);
    }

    public Group ApplyTo(Group g) => g with
    {
        Description = Description.Or(g.Description),
        DeviceType = DeviceType.Or(g.DeviceType),
        DesiredReleases = DesiredReleases ?? g.DesiredReleases,
    };
}

public static class GroupRules
{
    public static void CheckCreate(CreateGroupRequest request)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Name is not null && GroupNames.IsValid(request.Name), "name", "name is required: 1-64 of A-Z a-z 0-9 . _ -");
        errors.CheckText("description", request.Description, 500);
        errors.CheckText("deviceType", request.DeviceType, 64);
        CheckReleases(errors, request.DesiredReleases);
        errors.ThrowIfAny();
    }

    public static void CheckReleases(ValidationErrors errors, IReadOnlyDictionary<string, string>? releases)
    {
        foreach (var (kind, release) in releases ?? new Dictionary<string, string>())
        {
            errors.Require(GroupNames.ArtifactKinds.Contains(kind), "desiredReleases", $"Unknown artifact kind '{kind}'; use os, firmware, app or config.");
            errors.Require(release is { Length: > 0 and <= 128 }, $"desiredReleases.{kind}", "A release name is 1-128 characters.");
        }
    }
}
