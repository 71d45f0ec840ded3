namespace ServerlessFleet.Shared.Storage;

/// <summary>OData filter fragments with the quoting done once, correctly.</summary>
public static class TableFilters
{
    public static string Quote(string value) => "'" + value.Replace("'", "''") + "'";

    public static string PartitionEquals(string partitionKey) => $"PartitionKey eq {Quote(partitionKey)}";

    public static string And(params string?[] clauses) =>
        string.Join(" and ", clauses.Where(c => !string.IsNullOrEmpty(c)).Select(c => $"({c})"));

    /// <summary>All row keys that start with <paramref name="prefix"/> (ordinal range on the next character).</summary>
    public static string RowKeyStartsWith(string prefix) =>
        $"RowKey ge {Quote(prefix)} and RowKey lt {Quote(prefix[..^1] + (char)(prefix[^1] + 1))}";
}
