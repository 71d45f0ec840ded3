using Microsoft.Azure.Functions.Worker;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Groups;

namespace ServerlessFleet.Functions.Devices;

/// <summary>The device registry (API.md §2 "Devices"): fleet:read to read, fleet:manager to write.</summary>
public static partial class DevicesApi
{
    [Function("CreateDevice"), Tags("Devices"), RequireScope(Scopes.FleetManager), AcceptIdempotencyKey, HandledBy(nameof(CreateAsync))]
    [EndpointSummary("Register a device (Idempotency-Key honoured)")]
    public static Task<IResult> CreateDevice([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/devices")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ListDevices"), Tags("Devices"), RequireScope(Scopes.FleetRead), HandledBy(nameof(ListAsync))]
    [EndpointSummary("List devices: filters group, tag, hardwareVersion, release, ownerRef, status (repeatable ones match any value), lastSeenSince/Until, maxBatteryPercent, search (+searchType, searchField), attr.<scope>.<name>=<op>:<value>; sort")]
    public static Task<IResult> ListDevices([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/devices")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetDevice"), Tags("Devices"), RequireScope(Scopes.FleetRead), HandledBy(nameof(GetAsync))]
    [EndpointSummary("A device with its attributes (ETag)")]
    public static Task<IResult> GetDevice([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/devices/{serial}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("UpdateDevice"), Tags("Devices"), RequireScope(Scopes.FleetManager), HandledBy(nameof(PatchAsync))]
    [EndpointSummary("Update name, ownerRef, hardwareVersion or deviceType (If-Match honoured; groups change by move)")]
    public static Task<IResult> UpdateDevice([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/v1/devices/{serial}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("DecommissionDevice"), Tags("Devices"), RequireScope(Scopes.FleetManager), HandledBy(nameof(DecommissionAsync))]
    [EndpointSummary("Decommission: the device's auth is revoked and its pending work aborted")]
    public static Task<IResult> DecommissionDevice([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/devices/{serial}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ListDeviceAttributes"), Tags("Devices"), RequireScope(Scopes.FleetRead), HandledBy(nameof(ListAttributesAsync))]
    [EndpointSummary("A device's attributes (optionally ?scope=)")]
    public static Task<IResult> ListDeviceAttributes([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/devices/{serial}/attributes")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("UpsertDeviceAttributes"), Tags("Devices"), RequireScope(Scopes.FleetManager), HandledBy(nameof(UpsertAttributesAsync))]
    [EndpointSummary("Upsert attributes; scopes inventory and tags are writable here")]
    public static Task<IResult> UpsertDeviceAttributes([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/v1/devices/{serial}/attributes")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ReplaceDeviceAttributes"), Tags("Devices"), RequireScope(Scopes.FleetManager), HandledBy(nameof(ReplaceAttributesAsync))]
    [EndpointSummary("Replace whole scopes: those written in the body, plus ?scope= (an empty body with ?scope= clears it)")]
    public static Task<IResult> ReplaceDeviceAttributes([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/devices/{serial}/attributes")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("SetDeviceTags"), Tags("Devices"), RequireScope(Scopes.FleetManager), HandledBy(nameof(SetTagsAsync))]
    [EndpointSummary("Replace the device's tags")]
    public static Task<IResult> SetDeviceTags([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/devices/{serial}/tags")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    public const int MaxTags = 50;

    public static Regex SerialPattern() => ServerlessFleet.Shared.DeviceAuth.DeviceIdentities.SerialPattern();

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex TagPattern();

    private static async Task<Created<DeviceResponse>> CreateAsync(CreateDeviceRequest request, HttpContext context, Caller caller,
        DeviceStore devices, GroupStore groups, Auditor audit, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Serial is not null && SerialPattern().IsMatch(request.Serial), "serial", "serial is required: 1-128 of A-Z a-z 0-9 . _ : -");
        errors.Require(request.HardwareVersion is { Length: > 0 and <= 64 }, "hardwareVersion", "hardwareVersion is required (1-64 characters).");
        CheckText(errors, "name", request.Name, 128);
        CheckText(errors, "ownerRef", request.OwnerRef, 128);
        CheckText(errors, "deviceType", request.DeviceType, 64);
        var tags = CheckTags(errors, request.Tags);
        errors.ThrowIfAny();

        var groupName = request.Group ?? GroupNames.Unassigned;
        var group = await groups.FindAsync(caller.TenantId, groupName, ct)
            ?? throw FleetException.Validation("group", $"Group '{groupName}' does not exist.");
        if (group.DeviceType is not null && group.DeviceType != request.DeviceType)
            throw FleetException.Validation("group", $"Group '{groupName}' only takes '{group.DeviceType}' devices.");

        var device = await devices.CreateAsync(caller.TenantId,
            new NewDevice(request.Serial!, request.Name, request.OwnerRef, request.HardwareVersion!, request.DeviceType, groupName, tags), ct);
        await audit.RecordAsync("device.create", "device", device.Serial, null, DeviceResponse.From(device, true), ct);
        ETags.Set(context, device.ETag);
        return TypedResults.Created($"/api/v1/devices/{Uri.EscapeDataString(device.Serial)}", DeviceResponse.From(device, true));
    }

    private static async Task<Ok<PagedResponse<DeviceResponse>>> ListAsync([AsParameters] DeviceListQuery filters, [AsParameters] PagingQuery paging,
        HttpContext context, Caller caller, Paging pages, DeviceStore devices, CancellationToken ct)
    {
        var query = filters.ToQuery(context.Request.Query);
        var page = await devices.ListAsync(caller.TenantId, query, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(d => DeviceResponse.From(d))));
    }

    private static async Task<Ok<DeviceResponse>> GetAsync(string serial, HttpContext context, Caller caller, DeviceStore devices, CancellationToken ct)
    {
        var device = await devices.GetAsync(caller.TenantId, serial, ct);
        ETags.Set(context, device.ETag);
        return TypedResults.Ok(DeviceResponse.From(device, true));
    }

    private static async Task<Ok<DeviceResponse>> PatchAsync(string serial, JsonElement body, HttpContext context, Caller caller,
        DeviceStore devices, GroupStore groups, Auditor audit, CancellationToken ct)
    {
        var change = DevicePatch.Parse(body);
        if (change.DeviceType.HasValue)
        {
            var current = await devices.GetAsync(caller.TenantId, serial, ct);
            var group = await groups.GetAsync(caller.TenantId, current.Group, ct);
            if (group.DeviceType is not null && group.DeviceType != change.DeviceType.Value)
                throw FleetException.Validation("deviceType", $"The device's group '{group.Name}' only takes '{group.DeviceType}' devices.");
        }
        var (before, after) = await devices.UpdateAsync(caller.TenantId, serial, change.ApplyTo, ETags.IfMatch(context), ct);
        await audit.RecordAsync("device.update", "device", serial, DeviceResponse.From(before, true), DeviceResponse.From(after, true), ct);
        ETags.Set(context, after.ETag);
        return TypedResults.Ok(DeviceResponse.From(after, true));
    }

    private static async Task<NoContent> DecommissionAsync(string serial, HttpContext context, Caller caller, DeviceStore devices,
        IEnumerable<IDeviceDecommissionHook> hooks, Auditor audit, CancellationToken ct)
    {
        var (before, after) = await devices.UpdateAsync(caller.TenantId, serial, d => d with { Status = DeviceStatuses.Decommissioned }, ETags.IfMatch(context), ct);
        foreach (var hook in hooks) await hook.OnDecommissionedAsync(after, ct);
        await audit.RecordAsync("device.decommission", "device", serial, DeviceResponse.From(before), DeviceResponse.From(after), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<AttributeResponse>>> ListAttributesAsync(string serial, string? scope, HttpContext context,
        Caller caller, DeviceStore devices, CancellationToken ct)
    {
        AttributeScope? only = null;
        if (scope is not null)
        {
            if (!AttributeRules.TryParseScope(scope, out var parsed)) throw FleetException.Validation("scope", "scope is identity, inventory, system or tags.");
            only = parsed;
        }
        var device = await devices.GetAsync(caller.TenantId, serial, ct);
        ETags.Set(context, device.ETag);
        IReadOnlyList<AttributeResponse> attributes = device.AllAttributes().Where(a => only is null || a.Scope == only).Select(AttributeResponse.From).ToList();
        return TypedResults.Ok(attributes);
    }

    private static Task<Ok<IReadOnlyList<AttributeResponse>>> UpsertAttributesAsync(string serial, List<AttributeRequest> body, HttpContext context,
        Caller caller, DeviceStore devices, Auditor audit, CancellationToken ct) =>
        WriteAttributesAsync(serial, body, null, "device.attributes.upsert", context, caller, devices, audit, ct);

    private static Task<Ok<IReadOnlyList<AttributeResponse>>> ReplaceAttributesAsync(string serial, List<AttributeRequest> body, string? scope,
        HttpContext context, Caller caller, DeviceStore devices, Auditor audit, CancellationToken ct)
    {
        var scopes = new List<AttributeScope>();
        if (scope is not null)
        {
            if (!AttributeRules.TryParseScope(scope, out var parsed)) throw FleetException.Validation("scope", "scope is identity, inventory, system or tags.");
            scopes.Add(parsed);
        }
        return WriteAttributesAsync(serial, body, scopes, "device.attributes.replace", context, caller, devices, audit, ct);
    }

    /// <summary>Management writes inventory and tags; identity and system belong to device auth and the server.</summary>
    private static async Task<Ok<IReadOnlyList<AttributeResponse>>> WriteAttributesAsync(string serial, List<AttributeRequest> body,
        List<AttributeScope>? replaceScopes, string action, HttpContext context, Caller caller, DeviceStore devices, Auditor audit, CancellationToken ct)
    {
        var errors = new ValidationErrors();
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

        var (before, after) = await devices.UpdateAsync(caller.TenantId, serial,
            d => replaceScopes is null ? AttributeUpdates.Upsert(d, attributes) : AttributeUpdates.Replace(d, replaceScopes, attributes),
            ETags.IfMatch(context), ct);
        await audit.RecordAsync(action, "device", serial, DeviceResponse.From(before, true), DeviceResponse.From(after, true), ct);
        ETags.Set(context, after.ETag);
        IReadOnlyList<AttributeResponse> result = after.AllAttributes().Select(AttributeResponse.From).ToList();
        return TypedResults.Ok(result);
    }

    private static async Task<Ok<DeviceResponse>> SetTagsAsync(string serial, SetTagsRequest request, HttpContext context, Caller caller,
        DeviceStore devices, Auditor audit, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Tags is not null, "tags", "tags is required (an array, possibly empty).");
        var tags = CheckTags(errors, request.Tags);
        errors.ThrowIfAny();
        var (before, after) = await devices.UpdateAsync(caller.TenantId, serial, d => d with { Tags = tags }, ETags.IfMatch(context), ct);
        await audit.RecordAsync("device.tags.set", "device", serial, DeviceResponse.From(before), DeviceResponse.From(after), ct);
        ETags.Set(context, after.ETag);
        return TypedResults.Ok(DeviceResponse.From(after, true));
    }

    internal static void CheckText(ValidationErrors errors, string field, string? value, int max) =>
        errors.Require(value is null || value.Length is > 0 && value.Length <= max, field, $"{field} must be 1-{max} characters.");

    private static IReadOnlyList<string> CheckTags(ValidationErrors errors, IReadOnlyList<string>? tags)
    {
        if (tags is null) return [];
        errors.Require(tags.Count <= MaxTags, "tags", $"At most {MaxTags} tags.");
        foreach (var tag in tags.Where(t => t is null || !TagPattern().IsMatch(t)))
            errors.Add("tags", $"Tag '{tag}' must be 1-64 of A-Z a-z 0-9 . _ : -");
        return tags.Where(t => t is not null).Distinct(StringComparer.Ordinal).ToList();
    }
}

/// <summary>A PATCH body: present fields change (null clears optional ones), absent fields stay.</summary>
internal sealed record DevicePatch(Optional<string?> Name, Optional<string?> OwnerRef, Optional<string?> HardwareVersion, Optional<string?> DeviceType)
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
            DevicesApi.CheckText(errors, name, v.GetString(), max);
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
internal readonly record struct Optional<T>(T Value)
{
    public bool HasValue { get; } = true;
    public T Or(T fallback) => HasValue ? Value : fallback;
}
