using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Devices;

public enum DeviceSort { Serial, CreatedAt, CreatedAtDescending, LastSeen, LastSeenDescending }
public enum SearchType { Partial, Exact }
public enum SearchField { All, Serial, Name, Imei }

/// <summary>
/// The device list filters of API.md. Repeatable parameters match any of their values; different filters
/// must all match. <see cref="StorageFilter"/> is what Table storage evaluates; <see cref="Matches"/> the rest.
/// </summary>
public sealed record DeviceQuery(
    string? Group = null,
    IReadOnlyList<string>? Tags = null,
    IReadOnlyList<string>? HardwareVersions = null,
    IReadOnlyList<string>? Releases = null,
    IReadOnlyList<string>? OwnerRefs = null,
    IReadOnlyList<string>? Statuses = null,
    DateTimeOffset? LastSeenSince = null,
    DateTimeOffset? LastSeenUntil = null,
    double? MaxBatteryPercent = null,
    string? Search = null,
    SearchType SearchType = SearchType.Partial,
    SearchField SearchField = SearchField.All,
    IReadOnlyList<AttributePredicate>? Attributes = null,
    DeviceSort Sort = DeviceSort.Serial)
{
    public string StorageFilter(string tenantId)
    {
        var clauses = new List<string?> { DeviceKeys.TenantRange(tenantId), $"RowKey eq '{DeviceKeys.DeviceRow}'" };
        var statuses = Statuses is { Count: > 0 } ? Statuses : null;
        // Decommissioned devices are listed only when asked for by status.
        if (statuses is null || !statuses.Contains(DeviceStatuses.Decommissioned)) clauses.Add("Active eq true");
        clauses.Add(AnyOf("Status", statuses));
        clauses.Add(Group is null ? null : $"Group eq {TableFilters.Quote(Group)}");
        clauses.Add(AnyOf("HardwareVersion", HardwareVersions));
        clauses.Add(AnyOf("Release", Releases));
        clauses.Add(AnyOf("OwnerRef", OwnerRefs));
        if (LastSeenSince is { } since) clauses.Add($"LastSeen ge {DateTimeLiteral(since)}");
        if (LastSeenUntil is { } until) clauses.Add($"LastSeen le {DateTimeLiteral(until)}");
        if (MaxBatteryPercent is { } battery) clauses.Add($"BatteryPercent le {battery.ToString("0.0##############", System.Globalization.CultureInfo.InvariantCulture)}");
        if (Search is not null && SearchType == SearchType.Exact)
        {
            var exact = new List<string>();
            if (SearchField is SearchField.All or SearchField.Serial) exact.Add($"Serial eq {TableFilters.Quote(Search)}");
            if (SearchField is SearchField.All or SearchField.Name) exact.Add($"Name eq {TableFilters.Quote(Search)}");
            if (SearchField is SearchField.All or SearchField.Imei) exact.Add($"Imei eq {TableFilters.Quote(Search)}");
            clauses.Add(string.Join(" or ", exact));
        }
        return TableFilters.And(clauses.ToArray());
    }

    /// <summary>The filters Table storage cannot evaluate: tags, partial search and attribute predicates.</summary>
    public bool Matches(Device device)
    {
        if (Tags is { Count: > 0 } && !Tags.Any(t => device.Tags.Contains(t))) return false;
        if (Search is not null && SearchType == SearchType.Partial && !PartialMatch(device)) return false;
        return Attributes is null || Attributes.All(p => p.Matches(device.Scope(p.Scope)));
    }

    private bool PartialMatch(Device d)
    {
        bool Has(string? value) => value?.Contains(Search!, StringComparison.OrdinalIgnoreCase) == true;
        return SearchField switch
        {
            SearchField.Serial => Has(d.Serial),
            SearchField.Name => Has(d.Name),
            SearchField.Imei => Has(d.Imei),
            _ => Has(d.Serial) || Has(d.Name) || Has(d.Imei),
        };
    }

    private static string? AnyOf(string column, IReadOnlyList<string>? values) =>
        values is { Count: > 0 } ? string.Join(" or ", values.Select(v => $"{column} eq {TableFilters.Quote(v)}")) : null;

    private static string DateTimeLiteral(DateTimeOffset t) => $"datetime'{t.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffffffZ}'";
}
