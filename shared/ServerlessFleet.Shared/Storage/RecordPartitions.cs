namespace ServerlessFleet.Shared.Storage;

/// <summary>
/// The per-device records of one large operation (an action, a deployment) spread over <see cref="Count"/> partitions
/// <c>{scope}:NN</c> by a stable hash of the record key: a single partition would cap the operation at one
/// partition's throughput, and every partition keeps its own counters (<see cref="PartitionCounters"/>) beside its records.
/// Listing all records is one query over the PartitionKey range, ordered by partition, then key.
/// </summary>
public static class RecordPartitions
{
    public const int Count = 16;

    public static string Of(string scope, string recordKey)
    {
        // FNV-1a: string.GetHashCode is randomised per process, and every process must pick the same partition.
        var hash = 2166136261u;
        foreach (var c in recordKey) hash = (hash ^ c) * 16777619u;
        return $"{scope}:{hash % Count:D2}";
    }

    public static IEnumerable<string> All(string scope) => Enumerable.Range(0, Count).Select(i => $"{scope}:{i:D2}");

    /// <summary>Every partition of the scope (scopes never contain ';', the character after ':').</summary>
    public static string Filter(string scope) => $"PartitionKey ge {TableFilters.Quote(scope + ":")} and PartitionKey lt {TableFilters.Quote(scope + ";")}";
}
