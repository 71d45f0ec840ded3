using Microsoft.AspNetCore.Mvc;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Devices;

/// <summary>The query string of <c>GET /api/v1/devices</c>; <c>attr.&lt;scope&gt;.&lt;name&gt;</c> predicates are read from the raw query.</summary>
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
    private static readonly Dictionary<string, DeviceSort> Sorts = new(StringComparer.Ordinal)
    {
        ["serial"] = DeviceSort.Serial, ["createdAt"] = DeviceSort.CreatedAt, ["-createdAt"] = DeviceSort.CreatedAtDescending,
        ["lastSeen"] = DeviceSort.LastSeen, ["-lastSeen"] = DeviceSort.LastSeenDescending,
    };

    public DeviceQuery ToQuery(IQueryCollection raw)
    {
        var errors = new ValidationErrors();
        var sort = DeviceSort.Serial;
        if (Sort is not null && !Sorts.TryGetValue(Sort, out sort)) errors.Add("sort", "sort is one of serial, createdAt, -createdAt, lastSeen, -lastSeen.");
        var searchType = Shared.Devices.SearchType.Partial;
        if (SearchType is not null && !TryEnum(SearchType, out searchType)) errors.Add("searchType", "searchType is partial or exact.");
        var searchField = Shared.Devices.SearchField.All;
        if (SearchField is not null && !TryEnum(SearchField, out searchField)) errors.Add("searchField", "searchField is all, serial, name or imei.");
        foreach (var s in Status ?? []) errors.Require(DeviceStatuses.All.Contains(s), "status", $"Unknown status '{s}'.");
        if (Search is { Length: 0 or > 128 }) errors.Add("search", "search is 1-128 characters.");
        if (LastSeenSince > LastSeenUntil) errors.Add("lastSeenSince", "lastSeenSince must not be after lastSeenUntil.");

        var predicates = new List<AttributePredicate>();
        foreach (var (key, values) in raw.Where(q => q.Key.StartsWith("attr.", StringComparison.Ordinal)))
        {
            foreach (var value in values)
            {
                try { predicates.Add(AttributePredicate.Parse(key, value ?? "")); }
                catch (FleetException e) { errors.Add(key, e.Message); }
            }
        }
        errors.ThrowIfAny();
        return new DeviceQuery(Group, Tag, HardwareVersion, Release, OwnerRef, Status, LastSeenSince, LastSeenUntil, MaxBatteryPercent,
            Search, searchType, searchField, predicates, sort);
    }

    private static bool TryEnum<T>(string text, out T value) where T : struct, Enum =>
        Enum.TryParse(text, ignoreCase: true, out value) && !int.TryParse(text, out _);
}
