using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ServerlessFleet.Shared.Storage;

/// <summary>
/// Counts every request the app sends to storage, by HTTP method and first path segment (the table, queue or
/// container). Cheap enough to leave on; it is how tests prove that a hot path does one read and no write.
/// </summary>
public sealed class StorageRequestCounter : HttpPipelinePolicy
{
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public long Reads(string resource) => Count("GET", resource);
    public long Writes(string resource) =>
        new[] { "PUT", "POST", "PATCH", "MERGE", "DELETE" }.Sum(m => Count(m, resource));

    public long Count(string method, string resource) => _counts.GetValueOrDefault($"{method} {resource}");

    /// <summary>Requests to one entity's partition (point reads and single-entity writes; batches are not attributed).</summary>
    public long EntityReads(string resource, string partitionKey) => _counts.GetValueOrDefault($"GET {resource} {partitionKey}");

    public long EntityWrites(string resource, string partitionKey) =>
        new[] { "PUT", "POST", "PATCH", "MERGE", "DELETE" }.Sum(m => _counts.GetValueOrDefault($"{m} {resource} {partitionKey}"));

    /// <summary>Queries whose filter starts with this partition (<c>PartitionKey eq '…'</c>).</summary>
    public long PartitionQueries(string resource, string partitionKey) => _counts.GetValueOrDefault($"QUERY {resource} {partitionKey}");

    /// <summary>A table transaction, attributed to its table (<c>BATCH {table}</c>) by whoever can see the body.</summary>
    public void RecordBatch(string table) => _counts.AddOrUpdate($"BATCH {table}", 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, long> Snapshot() => new Dictionary<string, long>(_counts);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Record(message);
        ProcessNext(message, pipeline);
    }

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Record(message);
        return ProcessNextAsync(message, pipeline);
    }

    // The request's own path and query, not a System.Uri built from them: this runs on every storage request.
    private void Record(HttpMessage message) => Record(message.Request.Method.ToString(), message.Request.Uri.Path, message.Request.Uri.Query);

    /// <summary>Counts one request by method and address (also for requests seen on the wire, outside this process's clients).</summary>
    public void Record(string method, Uri uri) => Record(method, uri.AbsolutePath, uri.Query);

    private void Record(string method, string path, string query)
    {
        // Path: /{account}/{resource}... on the emulator, /{resource}... on Azure; keys look like table(PK,RK).
        var segments = path.Trim('/').Split('/');
        var resource = segments.Length > 1 && segments[0] == "devstoreaccount1" ? segments[1] : segments[0];
        var paren = resource.IndexOf('(');
        var keys = paren > 0 ? Uri.UnescapeDataString(resource[paren..]) : null;
        if (paren > 0) resource = resource[..paren];
        _counts.AddOrUpdate($"{method} {resource}", 1, (_, n) => n + 1);
        if (paren > 0 && keys == "()" && QueryPartition(query) is { } partition)
            _counts.AddOrUpdate($"QUERY {resource} {partition}", 1, (_, n) => n + 1);
        const string marker = "PartitionKey='";
        if (keys?.IndexOf(marker, StringComparison.Ordinal) is >= 0 and var start)
        {
            var from = start + marker.Length;
            var end = keys.IndexOf("',", from, StringComparison.Ordinal);
            if (end > from) _counts.AddOrUpdate($"{method} {resource} {keys[from..end].Replace("''", "'")}", 1, (_, n) => n + 1);
        }
    }

    private static string? QueryPartition(string query)
    {
        const string prefix = "PartitionKey eq '";
        var filter = System.Web.HttpUtility.ParseQueryString(query)["$filter"]?.TrimStart('(');
        if (filter is null || !filter.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var end = filter.IndexOf('\'', prefix.Length);
        while (end >= 0 && end + 1 < filter.Length && filter[end + 1] == '\'') end = filter.IndexOf('\'', end + 2);
        return end < 0 ? null : filter[prefix.Length..end].Replace("''", "'");
    }
}
