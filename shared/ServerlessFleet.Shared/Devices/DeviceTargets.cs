using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Shared.Devices;

public sealed record TargetDevice(string Serial, string? DeviceType);

/// <summary>
/// Resolves what an action or a deployment targets (listed serials, a group, a filter, or every device) to devices,
/// with a filter written in the device list's own query language (group, tag, hardwareVersion, attr.&lt;scope&gt;.&lt;name&gt;, …).
/// </summary>
public sealed class DeviceTargets(DeviceStore devices)
{
    public const int MaxTargetDevices = 50_000;

    public async Task<IReadOnlyList<TargetDevice>> ListedAsync(string tenantId, IReadOnlyList<string> listed, CancellationToken ct)
    {
        var distinct = listed.Distinct(StringComparer.Ordinal).ToList();
        var found = await Task.WhenAll(distinct.Select(s => devices.FindAsync(tenantId, s, ct)));
        var missing = distinct.Where((_, i) => found[i] is null).ToList();
        if (missing.Count > 0) throw FleetException.Validation("devices", $"Unknown devices: {string.Join(", ", missing.Take(20))}.");
        return found.Select(d => new TargetDevice(d!.Serial, d.DeviceType)).ToList();
    }

    /// <summary>Active devices of the group, or of the whole tenant when <paramref name="group"/> is null.</summary>
    public async Task<IReadOnlyList<TargetDevice>> GroupAsync(string tenantId, string? group, CancellationToken ct) =>
        (await devices.ScanGroupsAsync(tenantId, ct)).Where(d => group is null || d.Group == group).Select(d => new TargetDevice(d.Serial, d.DeviceType)).ToList();

    /// <summary>Accepted devices that match the filter.</summary>
    public async Task<IReadOnlyList<TargetDevice>> FilterAsync(string tenantId, IReadOnlyDictionary<string, string> filter, CancellationToken ct)
    {
        string[]? Many(string name) => filter.TryGetValue(name, out var value) ? [value] : null;
        var query = new DeviceListFilter(filter.GetValueOrDefault("group"), Many("tag"), Many("hardwareVersion"), Many("release"), Many("ownerRef"),
            [DeviceStatuses.Accepted], Search: filter.GetValueOrDefault("search")).ToQuery(filter.Select(f => KeyValuePair.Create(f.Key, (string?)f.Value)));
        var matching = new List<TargetDevice>();
        PageRequest? page = PageRequest.First(PageRequest.MaxLimit);
        while (page is not null && matching.Count <= MaxTargetDevices)
        {
            var result = await devices.ListAsync(tenantId, query, page, ct);
            matching.AddRange(result.Items.Select(d => new TargetDevice(d.Serial, d.DeviceType)));
            page = result.Next;
        }
        return matching;
    }
}
