using Microsoft.Azure.Functions.Worker;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Groups;

namespace ServerlessFleet.Functions.Groups;

public sealed record CreateGroupRequest(string? Name, string? Description, string? DeviceType, Dictionary<string, string>? DesiredReleases);

public sealed record MoveDevicesRequest(IReadOnlyList<string>? Devices);

public sealed record GroupResponse(string Name, string? Description, string? DeviceType, int DeviceCount, int DevicesUpToDateCount,
    IReadOnlyDictionary<string, string> DesiredReleases, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static GroupResponse From(GroupWithCounts g) => new(g.Group.Name, g.Group.Description, g.Group.DeviceType, g.DeviceCount,
        g.DevicesUpToDateCount, g.Group.DesiredReleases, g.Group.CreatedAt, g.Group.UpdatedAt);
}

/// <summary>Cohorts of devices (API.md §2 "Groups").</summary>
public static class GroupsApi
{
    [Function("CreateGroup"), Tags("Groups"), RequireScope(Scopes.FleetManager), AcceptIdempotencyKey, HandledBy(nameof(CreateAsync))]
    [EndpointSummary("Create a group (optionally locked to a device type; Idempotency-Key honoured)")]
    public static Task<IResult> CreateGroup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/groups")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ListGroups"), Tags("Groups"), RequireScope(Scopes.FleetRead), HandledBy(nameof(ListAsync))]
    [EndpointSummary("All groups with device counts; 'unassigned' always exists")]
    public static Task<IResult> ListGroups([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/groups")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetGroup"), Tags("Groups"), RequireScope(Scopes.FleetRead), HandledBy(nameof(GetAsync))]
    [EndpointSummary("A group with its device counts (ETag)")]
    public static Task<IResult> GetGroup([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/groups/{name}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("UpdateGroup"), Tags("Groups"), RequireScope(Scopes.FleetManager), HandledBy(nameof(PatchAsync))]
    [EndpointSummary("Update description, deviceType lock or desired releases")]
    public static Task<IResult> UpdateGroup([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/v1/groups/{name}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("DeleteGroup"), Tags("Groups"), RequireScope(Scopes.FleetManager), HandledBy(nameof(DeleteAsync))]
    [EndpointSummary("Delete an empty group (409 if it has devices or is 'unassigned')")]
    public static Task<IResult> DeleteGroup([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/groups/{name}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MoveDevicesToGroup"), Tags("Groups"), RequireScope(Scopes.FleetMove), HandledBy(nameof(MoveAsync))]
    [EndpointSummary("Move up to 500 devices into the group; ?validateOnly=true reports the effects and changes nothing")]
    public static Task<IResult> MoveDevicesToGroup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/groups/{name}/devices:move")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<Created<GroupResponse>> CreateAsync(CreateGroupRequest request, HttpContext context, Caller caller,
        GroupStore groups, Auditor audit, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Name is not null && GroupNames.IsValid(request.Name), "name", "name is required: 1-64 of A-Z a-z 0-9 . _ -");
        errors.CheckText("description", request.Description, 500);
        errors.CheckText("deviceType", request.DeviceType, 64);
        CheckReleases(errors, request.DesiredReleases);
        errors.ThrowIfAny();
        var group = await groups.CreateAsync(caller.TenantId, request.Name!, request.Description, request.DeviceType,
            request.DesiredReleases ?? [], ct);
        var response = GroupResponse.From(new GroupWithCounts(group, 0, 0));
        await audit.RecordAsync("group.create", "group", group.Name, null, response, ct);
        ETags.Set(context, group.ETag);
        return TypedResults.Created($"/api/v1/groups/{group.Name}", response);
    }

    private static async Task<Ok<PagedResponse<GroupResponse>>> ListAsync(Caller caller, GroupStore groups, CancellationToken ct)
    {
        // A tenant has few groups: one page, counted in one scan.
        var all = await groups.ListAsync(caller.TenantId, ct);
        return TypedResults.Ok(new PagedResponse<GroupResponse>(all.Select(GroupResponse.From).ToList(), null, null));
    }

    private static async Task<Ok<GroupResponse>> GetAsync(string name, HttpContext context, Caller caller, GroupStore groups, CancellationToken ct)
    {
        var group = await groups.GetWithCountsAsync(caller.TenantId, name, ct);
        ETags.Set(context, group.Group.ETag);
        return TypedResults.Ok(GroupResponse.From(group));
    }

    private static async Task<Ok<GroupResponse>> PatchAsync(string name, JsonElement body, HttpContext context, Caller caller,
        GroupStore groups, DeviceStore devices, Auditor audit, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (body.ValueKind != JsonValueKind.Object) throw FleetException.Validation("body", "The body must be a JSON object.");
        foreach (var p in body.EnumerateObject().Where(p => p.Name is not ("description" or "deviceType" or "desiredReleases")))
            errors.Add(p.Name, p.Name == "name" ? "Groups cannot be renamed." : $"'{p.Name}' is not an editable group field.");
        var description = ReadString(body, "description", 500, errors);
        var deviceType = ReadString(body, "deviceType", 64, errors);
        Dictionary<string, string>? releases = null;
        if (body.TryGetProperty("desiredReleases", out var r))
        {
            try { releases = r.ValueKind == JsonValueKind.Null ? [] : r.Deserialize<Dictionary<string, string>>(); }
            catch (JsonException) { errors.Add("desiredReleases", "desiredReleases maps an artifact kind to a release name."); }
            CheckReleases(errors, releases);
        }
        errors.ThrowIfAny();

        if (deviceType.HasValue && deviceType.Value is { } locked)
        {
            var mismatched = (await devices.ScanGroupsAsync(caller.TenantId, ct)).Count(d => d.Group == name && d.DeviceType != locked);
            if (mismatched > 0) throw FleetException.Conflict($"{mismatched} devices in '{name}' are not '{locked}' devices; move them before locking the group.");
        }
        var (before, after) = await groups.UpdateAsync(caller.TenantId, name, g => g with
        {
            Description = description.Or(g.Description),
            DeviceType = deviceType.Or(g.DeviceType),
            DesiredReleases = releases ?? g.DesiredReleases,
        }, ETags.IfMatch(context), ct);
        await audit.RecordAsync("group.update", "group", name, before, after, ct);
        ETags.Set(context, after.ETag);
        return TypedResults.Ok(GroupResponse.From(await groups.GetWithCountsAsync(caller.TenantId, name, ct)));
    }

    private static async Task<NoContent> DeleteAsync(string name, HttpContext context, Caller caller, GroupStore groups, Auditor audit, CancellationToken ct)
    {
        var deleted = await groups.DeleteAsync(caller.TenantId, name, ETags.IfMatch(context), ct);
        await audit.RecordAsync("group.delete", "group", name, deleted, null, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<MoveResult>> MoveAsync(string name, MoveDevicesRequest request, bool? validateOnly, Caller caller,
        GroupMover mover, Auditor audit, CancellationToken ct)
    {
        if (request.Devices is null || request.Devices.Count is 0 or > GroupMover.MaxDevicesPerMove)
            throw FleetException.Validation("devices", $"devices holds 1 to {GroupMover.MaxDevicesPerMove} serials.");
        var (result, changes) = await mover.MoveAsync(caller.TenantId, name, request.Devices, validateOnly ?? false, ct);
        foreach (var (before, after) in changes)
            await audit.RecordAsync("device.move", "device", after.Serial, new { group = before.Group }, new { group = after.Group }, ct);
        return TypedResults.Ok(result);
    }

    private static void CheckReleases(ValidationErrors errors, Dictionary<string, string>? releases)
    {
        foreach (var (kind, release) in releases ?? [])
        {
            errors.Require(GroupNames.ArtifactKinds.Contains(kind), "desiredReleases", $"Unknown artifact kind '{kind}'; use os, firmware, app or config.");
            errors.Require(release is { Length: > 0 and <= 128 }, $"desiredReleases.{kind}", "A release name is 1-128 characters.");
        }
    }

    private static Optional<string?> ReadString(JsonElement body, string name, int max, ValidationErrors errors)
    {
        if (!body.TryGetProperty(name, out var v)) return default;
        if (v.ValueKind == JsonValueKind.Null) return new(null);
        if (v.ValueKind != JsonValueKind.String) { errors.Add(name, $"{name} is a string or null."); return default; }
        errors.CheckText(name, v.GetString(), max);
        return new(v.GetString());
    }
}
