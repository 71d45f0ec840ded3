using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Telemetry;

namespace ServerlessFleet.Functions.Telemetry;

/// <summary>Device telemetry: batch ingestion by devices, history and latest values for operators. Location needs fleet:locate.</summary>
public static class TelemetryApi
{
    [Function("PostDeviceTelemetry"), Tags("Device API"), RequireDevice, HandledBy(nameof(IngestAsync))]
    [EndpointSummary("Batch of ≤ 500 samples {type, timestamp, value | values}; types battery, temperature, storage, uptime, location, wifi-strength, metric.<name>")]
    public static Task<IResult> PostDeviceTelemetry([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/device/v1/telemetry")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetDeviceTelemetry"), Tags("Telemetry"), RequireScope(Scopes.FleetRead), HandledBy(nameof(HistoryAsync))]
    [EndpointSummary("History of one type (?type= required; since, until), newest first; location needs fleet:locate")]
    public static Task<IResult> GetDeviceTelemetry([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/devices/{serial}/telemetry")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetDeviceTelemetryLatest"), Tags("Telemetry"), RequireScope(Scopes.FleetRead), HandledBy(nameof(LatestAsync))]
    [EndpointSummary("Newest sample of each type; location only with fleet:locate")]
    public static Task<IResult> GetDeviceTelemetryLatest([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/devices/{serial}/telemetry/latest")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetFleetTelemetryLatest"), Tags("Telemetry"), RequireScope(Scopes.FleetRead), HandledBy(nameof(FleetLatestAsync))]
    [EndpointSummary("Newest samples for serials (repeatable serial=) or a group (≤ 500 devices), optionally one type")]
    public static Task<IResult> GetFleetTelemetryLatest([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/telemetry/latest")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<NoContent> IngestAsync(TelemetryBatch batch, DeviceCaller device, DeviceTelemetry telemetry, CancellationToken ct)
    {
        await telemetry.IngestAsync(device.TenantId, device.Serial, batch, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<PagedResponse<SampleResponse>>> HistoryAsync(string serial, string? type, DateTimeOffset? since, DateTimeOffset? until,
        [AsParameters] PagingQuery paging, HttpContext context, Caller caller, Paging pages, DeviceTelemetry telemetry, CancellationToken ct)
    {
        var page = await telemetry.HistoryAsync(caller.Principal, serial, type, since, until, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(SampleResponse.From)));
    }

    private static async Task<Ok<IReadOnlyList<SampleResponse>>> LatestAsync(string serial, Caller caller, DeviceTelemetry telemetry, CancellationToken ct) =>
        TypedResults.Ok(await telemetry.LatestAsync(caller.Principal, serial, ct));

    private static async Task<Ok<PagedResponse<DeviceLatestResponse>>> FleetLatestAsync([FromQuery(Name = "serial")] string[]? serials, string? group,
        string? type, Caller caller, DeviceTelemetry telemetry, CancellationToken ct) =>
        TypedResults.Ok(new PagedResponse<DeviceLatestResponse>(await telemetry.FleetLatestAsync(caller.Principal, serials, group, type, ct), null, null));
}

/// <summary>Drops the week tables of telemetry older than <c>Fleet:TelemetryRetentionDays</c>, once a day.</summary>
public sealed class TelemetryRetention(TelemetryStore store, IOptions<FleetOptions> options, TimeProvider clock)
{
    [Function(nameof(TelemetryRetention))]
    public Task RunAsync([TimerTrigger("0 30 3 * * *")] TimerInfo timer, CancellationToken ct) =>
        store.DropWeeksBeforeAsync(clock.GetUtcNow().AddDays(-options.Value.TelemetryRetentionDays), ct);
}
