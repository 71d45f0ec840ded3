using Microsoft.AspNetCore.Mvc;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Functions.Devices;

/// <summary>The query string of <c>GET /api/v1/devices</c> as bound (and described); <c>attr.&lt;scope&gt;.&lt;name&gt;</c> predicates are read from the raw query.</summary>
public sealed record DeviceListQuery(
    string? Group,
    [property: FromQuery(Name = "tag")] string[]? Tag,
    [property: FromQuery(Name = "hardwareVersion")] string[]? HardwareVersion,
    [property: FromQuery(Name = "release")] string[]? Release,
    [property: FromQuery(Name = "ownerRef")] string[]? OwnerRef,
    [property: FromQuery(Name = "status")] string[]? Status,
    DateTimeOffset? LastSeenSince,
    DateTimeOffset? LastSeenUntil,
    double? MaxBatteryPercent,
    string? Search,
    string? SearchType,
    string? SearchField,
    string? Sort)
{
    public DeviceQuery ToQuery(IQueryCollection raw) =>
        new DeviceListFilter(Group, Tag, HardwareVersion, Release, OwnerRef, Status, LastSeenSince, LastSeenUntil, MaxBatteryPercent, Search, SearchType, SearchField, Sort)
            .ToQuery(raw.SelectMany(q => q.Value.Select(v => KeyValuePair.Create(q.Key, v))));
}
