using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Telemetry;

namespace ServerlessFleet.Functions.Telemetry;

public sealed record TelemetryBatch(List<TelemetrySample?>? Samples);
public sealed record SampleResponse(string Type, DateTimeOffset Timestamp, double? Value, IReadOnlyDictionary<string, double>? Values)
{
    public static SampleResponse From(StoredSample s) => new(s.Type, s.Timestamp, s.Value, s.Values);
}
public sealed record DeviceLatestResponse(string Serial, IReadOnlyList<SampleResponse> Samples);

/// <summary>Device telemetry: batch ingestion by devices, history and latest values for operators. Location needs fleet:locate.</summary>
public static class TelemetryApi
{
    public const int MaxFleetDevices = 500;

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

    private static async Task<NoContent> IngestAsync(TelemetryBatch batch, DeviceCaller device, TelemetryStore store, TimeProvider clock,
        IOptions<FleetOptions> options, CancellationToken ct)
    {
        var samples = batch.Samples ?? [];
        var errors = new ValidationErrors();
        TelemetryRules.Validate(samples, clock.GetUtcNow(), TimeSpan.FromDays(options.Value.TelemetryRetentionDays), errors);
        errors.ThrowIfAny();
        await store.IngestAsync(device.TenantId, device.Serial, samples!, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<PagedResponse<SampleResponse>>> HistoryAsync(string serial, string? type, DateTimeOffset? since, DateTimeOffset? until,
        [AsParameters] PagingQuery paging, HttpContext context, Caller caller, Paging pages, DeviceStore devices, TelemetryStore store, CancellationToken ct)
    {
        if (type is null || !TelemetryRules.IsKnownType(type)) throw FleetException.Validation("type", "type is required: battery, temperature, storage, uptime, location, wifi-strength or metric.<name>.");
        if (type == TelemetryRules.Location) RequireLocate(caller);
        await devices.GetAsync(caller.TenantId, serial, ct);
        var page = await store.HistoryAsync(caller.TenantId, serial, type, since, until, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(SampleResponse.From)));
    }

    private static async Task<Ok<IReadOnlyList<SampleResponse>>> LatestAsync(string serial, Caller caller, DeviceStore devices, TelemetryStore store, CancellationToken ct)
    {
        await devices.GetAsync(caller.TenantId, serial, ct);
        IReadOnlyList<SampleResponse> samples = Visible(caller, await store.LatestAsync(caller.TenantId, serial, ct)).Select(SampleResponse.From).ToList();
        return TypedResults.Ok(samples);
    }

    private static async Task<Ok<PagedResponse<DeviceLatestResponse>>> FleetLatestAsync([FromQuery(Name = "serial")] string[]? serials, string? group,
        string? type, Caller caller, DeviceStore devices, TelemetryStore store, CancellationToken ct)
    {
        if (type is not null && !TelemetryRules.IsKnownType(type)) throw FleetException.Validation("type", "Unknown telemetry type.");
        if (type == TelemetryRules.Location) RequireLocate(caller);
        if ((serials is not { Length: > 0 }) == (group is null)) throw FleetException.Validation("serial", "Give serials (serial=…) or a group, not both.");
        var targets = serials is { Length: > 0 }
            ? serials.Distinct().ToList()
            : (await devices.ScanGroupsAsync(caller.TenantId, ct)).Where(d => d.Group == group).Select(d => d.Serial).ToList();
        if (targets.Count > MaxFleetDevices) throw FleetException.Validation(serials is null ? "group" : "serial", $"At most {MaxFleetDevices} devices per request.");

        var results = new DeviceLatestResponse[targets.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, targets.Count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, token) =>
        {
            // Unknown serials (or another tenant's) simply have no samples: the partition is the tenant's own.
            var latest = await store.LatestAsync(caller.TenantId, targets[i], token);
            results[i] = new DeviceLatestResponse(targets[i],
                Visible(caller, latest).Where(s => type is null || s.Type == type).Select(SampleResponse.From).ToList());
        });
        return TypedResults.Ok(new PagedResponse<DeviceLatestResponse>(results, null, null));
    }

    private static IEnumerable<StoredSample> Visible(Caller caller, IEnumerable<StoredSample> samples) =>
        caller.Principal.Has(Scopes.FleetLocate) ? samples : samples.Where(s => s.Type != TelemetryRules.Location);

    private static void RequireLocate(Caller caller)
    {
        if (!caller.Principal.Has(Scopes.FleetLocate)) throw FleetException.Forbidden("Location data requires the 'fleet:locate' scope.");
    }
}

/// <summary>Drops the week tables of telemetry older than <c>Fleet:TelemetryRetentionDays</c>, once a day.</summary>
public sealed class TelemetryRetention(TelemetryStore store, IOptions<FleetOptions> options, TimeProvider clock)
{
    [Function(nameof(TelemetryRetention))]
    public Task RunAsync([TimerTrigger("0 30 3 * * *")] TimerInfo timer, CancellationToken ct) =>
        store.DropWeeksBeforeAsync(clock.GetUtcNow().AddDays(-options.Value.TelemetryRetentionDays), ct);
}
