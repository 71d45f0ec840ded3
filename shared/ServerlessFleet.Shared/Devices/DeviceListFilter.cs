using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Devices;

/// <summary>
/// The device list's filters as a caller writes them (API.md "Devices"), for the list route and for targets written in
/// the same language (a deployment's or an action's filter); <c>attr.&lt;scope&gt;.&lt;name&gt;</c> predicates come as raw pairs.
/// </summary>
public sealed record DeviceListFilter(
    string? Group = null,
    string[]? Tag = null,
    string[]? HardwareVersion = null,
    string[]? Release = null,
    string[]? OwnerRef = null,
    string[]? Status = null,
    DateTimeOffset? LastSeenSince = null,
    DateTimeOffset? LastSeenUntil = null,
    double? MaxBatteryPercent = null,
    string? Search = null,
    string? SearchType = null,
    string? SearchField = null,
    string? Sort = null)
{
    private static readonly Dictionary<string, DeviceSort> Sorts = new(StringComparer.Ordinal)
    {
        ["serial"] = DeviceSort.Serial, ["createdAt"] = DeviceSort.CreatedAt, ["-createdAt"] = DeviceSort.CreatedAtDescending,
        ["lastSeen"] = DeviceSort.LastSeen, ["-lastSeen"] = DeviceSort.LastSeenDescending,
    };

    /// <param name="raw">Every (name, value) pair of the query; those named <c>attr.…</c> are the attribute predicates.</param>
    public DeviceQuery ToQuery(IEnumerable<KeyValuePair<string, string?>> raw)
    {
        var errors = new ValidationErrors();
        var sort = DeviceSort.Serial;
        if (Sort is not null && !Sorts.TryGetValue(Sort, out sort)) errors.Add("sort", "sort is one of serial, createdAt, -createdAt, lastSeen, -lastSeen.");
        var searchType = Devices.SearchType.Partial;
        if (SearchType is not null && !TryEnum(SearchType, out searchType)) errors.Add("searchType", "searchType is partial or exact.");
        var searchField = Devices.SearchField.All;
        if (SearchField is not null && !TryEnum(SearchField, out searchField)) errors.Add("searchField", "searchField is all, serial, name or imei.");
        foreach (var s in Status ?? []) errors.Require(DeviceStatuses.All.Contains(s), "status", $"Unknown status '{s}'.");
        if (Search is { Length: 0 or > 128 }) errors.Add("search", "search is 1-128 characters.");
        if (LastSeenSince > LastSeenUntil) errors.Add("lastSeenSince", "lastSeenSince must not be after lastSeenUntil.");

        var predicates = new List<AttributePredicate>();
        foreach (var (key, value) in raw.Where(q => q.Key.StartsWith("attr.", StringComparison.Ordinal)))
        {
            try { predicates.Add(AttributePredicate.Parse(key, value ?? "")); }
            catch (FleetException e) { errors.Add(key, e.Message); }
        }
        errors.ThrowIfAny();
        return new DeviceQuery(Group, Tag, HardwareVersion, Release, OwnerRef, Status, LastSeenSince, LastSeenUntil, MaxBatteryPercent,
            Search, searchType, searchField, predicates, sort);
    }

    private static bool TryEnum<T>(string text, out T value) where T : struct, Enum =>
        Enum.TryParse(text, ignoreCase: true, out value) && !int.TryParse(text, out _);
}
