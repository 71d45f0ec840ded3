using Microsoft.Azure.Functions.Worker;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Groups;

namespace ServerlessFleet.Functions.Groups;

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

    private static async Task<Created<GroupResponse>> CreateAsync(CreateGroupRequest request, HttpContext context, GroupAdministration administration,
        Auditor audit, CancellationToken ct)
    {
        var group = await administration.CreateAsync(audit.Actor(), request, ct);
        ETags.Set(context, group.ETag);
        return TypedResults.Created($"/api/v1/groups/{group.Name}", GroupResponse.From(new GroupWithCounts(group, 0, 0)));
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

    private static async Task<Ok<GroupResponse>> PatchAsync(string name, JsonElement body, HttpContext context, GroupAdministration administration,
        Auditor audit, CancellationToken ct)
    {
        var group = await administration.UpdateAsync(audit.Actor(), name, GroupPatch.Parse(body), ETags.IfMatch(context), ct);
        ETags.Set(context, group.Group.ETag);
        return TypedResults.Ok(GroupResponse.From(group));
    }

    private static async Task<NoContent> DeleteAsync(string name, HttpContext context, GroupAdministration administration, Auditor audit, CancellationToken ct)
    {
        await administration.DeleteAsync(audit.Actor(), name, ETags.IfMatch(context), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<MoveResult>> MoveAsync(string name, MoveDevicesRequest request, bool? validateOnly, GroupAdministration administration,
        Auditor audit, CancellationToken ct) =>
        TypedResults.Ok(await administration.MoveAsync(audit.Actor(), name, request, validateOnly ?? false, ct));
}
