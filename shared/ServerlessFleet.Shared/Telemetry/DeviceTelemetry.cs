using Microsoft.Extensions.Options;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Shared.Telemetry;

public sealed record TelemetryBatch(List<TelemetrySample?>? Samples);
public sealed record SampleResponse(string Type, DateTimeOffset Timestamp, double? Value, IReadOnlyDictionary<string, double>? Values)
{
    public static SampleResponse From(StoredSample s) => new(s.Type, s.Timestamp, s.Value, s.Values);
}
public sealed record DeviceLatestResponse(string Serial, IReadOnlyList<SampleResponse> Samples);

/// <summary>
/// Device telemetry for every transport: a device's batches in, an operator's history and newest values out. Location
/// is shown only to keys with <c>fleet:locate</c>; every read stays in the caller's tenant.
/// </summary>
public sealed class DeviceTelemetry(TelemetryStore store, DeviceStore devices, TimeProvider clock, IOptions<FleetOptions> options)
{
    public const int MaxFleetDevices = 500;

    public async Task IngestAsync(string tenantId, string serial, TelemetryBatch batch, CancellationToken ct)
    {
        var samples = batch.Samples ?? [];
        var errors = new ValidationErrors();
        TelemetryRules.Validate(samples, clock.GetUtcNow(), TimeSpan.FromDays(options.Value.TelemetryRetentionDays), errors);
        errors.ThrowIfAny();
        await store.IngestAsync(tenantId, serial, samples!, ct);
    }

    public async Task<ListPage<StoredSample>> HistoryAsync(FleetPrincipal caller, string serial, string? type, DateTimeOffset? since, DateTimeOffset? until,
        PageRequest page, CancellationToken ct)
    {
        if (type is null || !TelemetryRules.IsKnownType(type)) throw FleetException.Validation("type", "type is required: battery, temperature, storage, uptime, location, wifi-strength or metric.<name>.");
        if (type == TelemetryRules.Location) RequireLocate(caller);
        await devices.GetAsync(caller.TenantId, serial, ct);
        return await store.HistoryAsync(caller.TenantId, serial, type, since, until, page, ct);
    }

    public async Task<IReadOnlyList<SampleResponse>> LatestAsync(FleetPrincipal caller, string serial, CancellationToken ct)
    {
        await devices.GetAsync(caller.TenantId, serial, ct);
        return Visible(caller, await store.LatestAsync(caller.TenantId, serial, ct)).Select(SampleResponse.From).ToList();
    }

    /// <summary>The newest samples of up to <see cref="MaxFleetDevices"/> devices, named or of one group, optionally of one type.</summary>
    public async Task<IReadOnlyList<DeviceLatestResponse>> FleetLatestAsync(FleetPrincipal caller, string[]? serials, string? group, string? type, CancellationToken ct)
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
            results[i] = new DeviceLatestResponse(targets[i], Visible(caller, latest).Where(s => type is null || s.Type == type).Select(SampleResponse.From).ToList());
        });
        return results;
    }

    private static IEnumerable<StoredSample> Visible(FleetPrincipal caller, IEnumerable<StoredSample> samples) =>
        caller.Has(Scopes.FleetLocate) ? samples : samples.Where(s => s.Type != TelemetryRules.Location);

    private static void RequireLocate(FleetPrincipal caller)
    {
        if (!caller.Has(Scopes.FleetLocate)) throw FleetException.Forbidden("Location data requires the 'fleet:locate' scope.");
    }
}
