using System.Text.RegularExpressions;
using Azure;
using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Groups;

namespace ServerlessFleet.Shared.Devices;

/// <summary>
/// An operator's changes to the device registry, for every transport: registering, editing, decommissioning, attributes
/// and tags, each audited. A write names the version it expects (<paramref name="ifMatch"/>; <see cref="ETag.All"/> for any).
/// </summary>
public sealed partial class DeviceRegistry(DeviceStore devices, GroupStore groups, IEnumerable<IDeviceDecommissionHook> hooks, AuditLog audit)
{
    public const int MaxTags = 50;

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex TagPattern();

    public async Task<Device> CreateAsync(Actor actor, CreateDeviceRequest request, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Serial is not null && DeviceIdentities.SerialPattern().IsMatch(request.Serial), "serial", "serial is required: 1-128 of A-Z a-z 0-9 . _ : -");
        errors.Require(request.HardwareVersion is { Length: > 0 and <= 64 }, "hardwareVersion", "hardwareVersion is required (1-64 characters).");
        errors.CheckText("name", request.Name, 128);
        errors.CheckText("ownerRef", request.OwnerRef, 128);
        errors.CheckText("deviceType", request.DeviceType, 64);
        var tags = CheckTags(errors, request.Tags);
        errors.ThrowIfAny();

        var groupName = request.Group ?? GroupNames.Unassigned;
        var group = await groups.FindAsync(actor.TenantId, groupName, ct) ?? throw FleetException.Validation("group", $"Group '{groupName}' does not exist.");
        if (group.DeviceType is not null && group.DeviceType != request.DeviceType)
            throw FleetException.Validation("group", $"Group '{groupName}' only takes '{group.DeviceType}' devices.");

        var device = await devices.CreateAsync(actor.TenantId,
            new NewDevice(request.Serial!, request.Name, request.OwnerRef, request.HardwareVersion!, request.DeviceType, groupName, tags), ct);
        await audit.RecordAsync(actor, "device.create", "device", device.Serial, null, DeviceResponse.From(device, true), ct);
        return device;
    }

    /// <summary>A device type that its group does not take is refused: a locked group holds one type.</summary>
    public async Task<Device> UpdateAsync(Actor actor, string serial, DevicePatch change, ETag ifMatch, CancellationToken ct)
    {
        if (change.DeviceType.HasValue)
        {
            var current = await devices.GetAsync(actor.TenantId, serial, ct);
            var group = await groups.GetAsync(actor.TenantId, current.Group, ct);
            if (group.DeviceType is not null && group.DeviceType != change.DeviceType.Value)
                throw FleetException.Validation("deviceType", $"The device's group '{group.Name}' only takes '{group.DeviceType}' devices.");
        }
        var (before, after) = await devices.UpdateAsync(actor.TenantId, serial, change.ApplyTo, ifMatch, ct);
        await audit.RecordAsync(actor, "device.update", "device", serial, DeviceResponse.From(before, true), DeviceResponse.From(after, true), ct);
        return after;
    }

    /// <summary>Authentication is revoked and pending work withdrawn: every decommission hook (admission, deployments, actions) runs.</summary>
    public async Task DecommissionAsync(Actor actor, string serial, ETag ifMatch, CancellationToken ct)
    {
        var (before, after) = await devices.UpdateAsync(actor.TenantId, serial, d => d with { Status = DeviceStatuses.Decommissioned }, ifMatch, ct);
        foreach (var hook in hooks) await hook.OnDecommissionedAsync(after, ct);
        await audit.RecordAsync(actor, "device.decommission", "device", serial, DeviceResponse.From(before), DeviceResponse.From(after), ct);
    }

    /// <summary>
    /// Management writes inventory and tags; identity and system belong to device auth and the server. Upserts when
    /// <paramref name="replaceScope"/> is absent; otherwise replaces that scope (or, given as null, every writable one the body names).
    /// </summary>
    public async Task<Device> WriteAttributesAsync(Actor actor, string serial, IReadOnlyList<AttributeRequest?> body, Optional<string?> replaceScope, ETag ifMatch,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        List<AttributeScope>? replaceScopes = null;
        if (replaceScope.HasValue)
        {
            replaceScopes = [];
            if (replaceScope.Value is { } scope)
            {
                if (!AttributeRules.TryParseScope(scope, out var parsed)) throw FleetException.Validation("scope", "scope is identity, inventory, system or tags.");
                replaceScopes.Add(parsed);
            }
        }
        var attributes = new List<DeviceAttribute>();
        for (var i = 0; i < body.Count; i++)
        {
            var item = body[i];
            if (item is null) { errors.Add($"[{i}]", "Each attribute is an object {name, value, scope}."); continue; }
            if (!AttributeRules.TryParseScope(item.Scope, out var parsed))
                errors.Add($"[{i}].scope", "scope is required: inventory or tags.");
            else if (parsed is not (AttributeScope.Inventory or AttributeScope.Tags))
                errors.Add($"[{i}].scope", $"Scope {parsed.ScopeName()} is read-only here.");
            attributes.Add(new DeviceAttribute(item.Name!, item.Value, parsed));
        }
        foreach (var s in replaceScopes ?? []) errors.Require(s is AttributeScope.Inventory or AttributeScope.Tags, "scope", $"Scope {s.ScopeName()} is read-only here.");
        AttributeRules.Validate(attributes, errors, "");
        errors.ThrowIfAny();

        var (before, after) = await devices.UpdateAsync(actor.TenantId, serial,
            d => replaceScopes is null ? AttributeUpdates.Upsert(d, attributes) : AttributeUpdates.Replace(d, replaceScopes, attributes), ifMatch, ct);
        await audit.RecordAsync(actor, replaceScopes is null ? "device.attributes.upsert" : "device.attributes.replace", "device", serial,
            DeviceResponse.From(before, true), DeviceResponse.From(after, true), ct);
        return after;
    }

    public async Task<Device> SetTagsAsync(Actor actor, string serial, SetTagsRequest request, ETag ifMatch, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Tags is not null, "tags", "tags is required (an array, possibly empty).");
        var tags = CheckTags(errors, request.Tags);
        errors.ThrowIfAny();
        var (before, after) = await devices.UpdateAsync(actor.TenantId, serial, d => d with { Tags = tags }, ifMatch, ct);
        await audit.RecordAsync(actor, "device.tags.set", "device", serial, DeviceResponse.From(before), DeviceResponse.From(after), ct);
        return after;
    }

    private static IReadOnlyList<string> CheckTags(ValidationErrors errors, IReadOnlyList<string>? tags)
    {
        if (tags is null) return [];
        errors.Require(tags.Count <= MaxTags, "tags", $"At most {MaxTags} tags.");
        foreach (var tag in tags.Where(t => t is null || !TagPattern().IsMatch(t)))
            errors.Add("tags", $"Tag '{tag}' must be 1-64 of A-Z a-z 0-9 . _ : -");
        return tags.Where(t => t is not null).Distinct(StringComparer.Ordinal).ToList();
    }
}
