using System.Text.Json.Nodes;

namespace ServerlessFleet.Shared.Audit;

/// <summary>One changed field: its value before and after (null when absent).</summary>
public sealed record FieldChange(JsonNode? Before, JsonNode? After);

/// <summary>Who did what to which object, when, and which fields changed.</summary>
public sealed record AuditEntry(
    string Id,
    DateTimeOffset Time,
    string TenantId,
    string ActorKeyId,
    string Action,
    string ObjectType,
    string ObjectId,
    IReadOnlyDictionary<string, FieldChange> Changes,
    string? RequestId);

public sealed record AuditQuery(
    string? ActorKeyId = null,
    string? Action = null,
    string? ObjectType = null,
    string? ObjectId = null,
    DateTimeOffset? Since = null,
    DateTimeOffset? Until = null);

/// <summary>Field-level differences between two JSON snapshots; nested objects give dotted paths.</summary>
public static class ChangeSet
{
    public static IReadOnlyDictionary<string, FieldChange> Between(JsonNode? before, JsonNode? after)
    {
        var changes = new SortedDictionary<string, FieldChange>(StringComparer.Ordinal);
        Diff("", before, after, changes);
        return changes;
    }

    private static void Diff(string path, JsonNode? before, JsonNode? after, IDictionary<string, FieldChange> changes)
    {
        // A created or deleted object lists each of its fields, against nothing.
        if (before is null && after is JsonObject) before = new JsonObject();
        if (after is null && before is JsonObject) after = new JsonObject();
        if (before is JsonObject b && after is JsonObject a)
        {
            foreach (var key in b.Select(p => p.Key).Union(a.Select(p => p.Key)))
                Diff(path.Length == 0 ? key : $"{path}.{key}", b[key], a[key], changes);
            return;
        }
        if (!JsonNode.DeepEquals(before, after))
            changes[path.Length == 0 ? "$" : path] = new FieldChange(before?.DeepClone(), after?.DeepClone());
    }
}
