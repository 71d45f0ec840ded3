using Microsoft.Azure.Functions.Worker;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Devices;

/// <summary>The device registry (API.md §2 "Devices"): fleet:read to read, fleet:manager to write.</summary>
public static class DevicesApi
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

    private static async Task<Created<DeviceResponse>> CreateAsync(CreateDeviceRequest request, HttpContext context, DeviceRegistry registry, Auditor audit,
        CancellationToken ct)
    {
        var device = await registry.CreateAsync(audit.Actor(), request, ct);
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

    private static async Task<Ok<DeviceResponse>> PatchAsync(string serial, JsonElement body, HttpContext context, DeviceRegistry registry, Auditor audit,
        CancellationToken ct) =>
        Respond(context, await registry.UpdateAsync(audit.Actor(), serial, DevicePatch.Parse(body), ETags.IfMatch(context), ct));

    private static async Task<NoContent> DecommissionAsync(string serial, HttpContext context, DeviceRegistry registry, Auditor audit, CancellationToken ct)
    {
        await registry.DecommissionAsync(audit.Actor(), serial, ETags.IfMatch(context), ct);
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

    private static async Task<Ok<IReadOnlyList<AttributeResponse>>> UpsertAttributesAsync(string serial, List<AttributeRequest> body, HttpContext context,
        DeviceRegistry registry, Auditor audit, CancellationToken ct) =>
        Attributes(context, await registry.WriteAttributesAsync(audit.Actor(), serial, body, default, ETags.IfMatch(context), ct));

    private static async Task<Ok<IReadOnlyList<AttributeResponse>>> ReplaceAttributesAsync(string serial, List<AttributeRequest> body, string? scope,
        HttpContext context, DeviceRegistry registry, Auditor audit, CancellationToken ct) =>
        Attributes(context, await registry.WriteAttributesAsync(audit.Actor(), serial, body, new Optional<string?>(scope), ETags.IfMatch(context), ct));

    private static async Task<Ok<DeviceResponse>> SetTagsAsync(string serial, SetTagsRequest request, HttpContext context, DeviceRegistry registry, Auditor audit,
        CancellationToken ct) =>
        Respond(context, await registry.SetTagsAsync(audit.Actor(), serial, request, ETags.IfMatch(context), ct));

    private static Ok<DeviceResponse> Respond(HttpContext context, Device device)
    {
        ETags.Set(context, device.ETag);
        return TypedResults.Ok(DeviceResponse.From(device, true));
    }

    private static Ok<IReadOnlyList<AttributeResponse>> Attributes(HttpContext context, Device device)
    {
        ETags.Set(context, device.ETag);
        return TypedResults.Ok<IReadOnlyList<AttributeResponse>>(device.AllAttributes().Select(AttributeResponse.From).ToList());
    }
}
