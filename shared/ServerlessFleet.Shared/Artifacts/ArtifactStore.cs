using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Artifacts;

public sealed record ArtifactQuery(string? Name = null, string? Version = null, string? Kind = null, string? DeviceType = null);

public sealed record PendingUpload(string Id, string TenantId, ArtifactMetadata Metadata, string? FileName, string ContentType, DateTimeOffset ExpiresAt);

public sealed record Release(string Name, string Version, IReadOnlyList<Artifact> Artifacts)
{
    public IReadOnlyList<string> DeviceTypes => Artifacts.SelectMany(a => a.Metadata.DeviceTypesCompatible).Distinct().Order(StringComparer.Ordinal).ToList();
}

/// <summary>
/// <c>artifacts</c> table, PartitionKey = tenant. Rows: <c>a|{id}</c> (ids sort by creation time), uniqueness rows
/// <c>u|{name}|{version}|{deviceType}</c> added in the same transaction as the artifact (so a duplicate is an
/// atomic 409), and <c>upload|{id}</c> for direct uploads not completed yet.
/// </summary>
public sealed class ArtifactStore(FleetStorage storage, TimeProvider clock)
{
    public const string TableName = "artifacts";
    private TableClient Table => storage.Table(TableName);

    public string NewId() => TimeOrderedIds.New(clock);

    public async Task EnsureUniqueAsync(string tenantId, ArtifactMetadata metadata, CancellationToken ct)
    {
        foreach (var key in UniqueKeys(metadata))
        {
            var existing = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, key, ["RowKey"], ct);
            if (existing.HasValue) throw Duplicate(metadata);
        }
    }

    public async Task<Artifact> RegisterAsync(Artifact artifact, CancellationToken ct)
    {
        var actions = new List<TableTransactionAction> { new(TableTransactionActionType.Add, ToEntity(artifact)) };
        actions.AddRange(UniqueKeys(artifact.Metadata).Select(k =>
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(artifact.TenantId, k) { ["ArtifactId"] = artifact.Id })));
        try
        {
            await Table.SubmitTransactionAsync(actions, ct);
        }
        catch (TableTransactionFailedException e) when (e.Status == 409)
        {
            throw Duplicate(artifact.Metadata);
        }
        return artifact;
    }

    public async Task<Artifact?> FindAsync(string tenantId, string id, CancellationToken ct)
    {
        if (!IsId(id)) return null;
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, "a|" + id, cancellationToken: ct);
        return row.HasValue && row.Value is not null ? FromEntity(row.Value) : null;
    }

    public async Task<Artifact> GetAsync(string tenantId, string id, CancellationToken ct) =>
        await FindAsync(tenantId, id, ct) ?? throw FleetException.NotFound("Artifact", id);

    /// <summary>Name, version and kind filter in storage; the device type in memory. Keyset paging on the id.</summary>
    public async Task<ListPage<Artifact>> ListAsync(string tenantId, ArtifactQuery query, PageRequest page, CancellationToken ct)
    {
        var filter = TableFilters.And(TableFilters.PartitionEquals(tenantId),
            page.Start is null ? TableFilters.RowKeyStartsWith("a|") : $"RowKey gt {TableFilters.Quote("a|" + page.Start)} and RowKey lt 'a}}'",
            query.Name is null ? null : $"Name eq {TableFilters.Quote(query.Name)}",
            query.Version is null ? null : $"Version eq {TableFilters.Quote(query.Version)}",
            query.Kind is null ? null : $"Kind eq {TableFilters.Quote(query.Kind)}");
        var items = new List<Artifact>();
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct))
        {
            var artifact = FromEntity(row);
            if (query.DeviceType is not null && !artifact.Metadata.DeviceTypesCompatible.Contains(query.DeviceType)) continue;
            items.Add(artifact);
            if (items.Count > page.Limit) break;
        }
        var more = items.Count > page.Limit;
        var shown = more ? items.Take(page.Limit).ToList() : items;
        return new ListPage<Artifact>(shown, more ? page.After(shown[^1].Id) : null, page.Back());
    }

    public async Task<IReadOnlyList<Release>> ReleasesAsync(string tenantId, string? name, CancellationToken ct)
    {
        var all = new List<Artifact>();
        var filter = TableFilters.And(TableFilters.PartitionEquals(tenantId), TableFilters.RowKeyStartsWith("a|"), name is null ? null : $"Name eq {TableFilters.Quote(name)}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct)) all.Add(FromEntity(row));
        return all.GroupBy(a => (a.Metadata.Name, a.Metadata.Version))
            .Select(g => new Release(g.Key.Name, g.Key.Version, g.ToList()))
            .OrderBy(r => r.Name, StringComparer.Ordinal).ThenBy(r => r.Artifacts.Min(a => a.CreatedAt)).ToList();
    }

    public async Task DeleteAsync(Artifact artifact, CancellationToken ct)
    {
        var actions = UniqueKeys(artifact.Metadata).Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(artifact.TenantId, k), ETag.All))
            .Prepend(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(artifact.TenantId, "a|" + artifact.Id), ETag.All));
        await Table.SubmitTransactionAsync(actions, ct);
    }

    public Task SaveUploadAsync(PendingUpload upload, CancellationToken ct) => Table.AddEntityAsync(new TableEntity(upload.TenantId, "upload|" + upload.Id)
    {
        ["Metadata"] = JsonSerializer.Serialize(upload.Metadata),
        ["FileName"] = upload.FileName,
        ["ContentType"] = upload.ContentType,
        ["ExpiresAt"] = upload.ExpiresAt,
    }, ct);

    public async Task<PendingUpload?> FindUploadAsync(string tenantId, string id, CancellationToken ct)
    {
        if (!IsId(id)) return null;
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, "upload|" + id, cancellationToken: ct);
        return row.HasValue && row.Value is not null ? UploadFromEntity(row.Value) : null;
    }

    public Task DeleteUploadAsync(string tenantId, string id, CancellationToken ct) => Table.DeleteEntityAsync(tenantId, "upload|" + id, ETag.All, ct);

    /// <summary>Direct uploads whose link expired before <paramref name="before"/> and were never completed (all tenants).</summary>
    public async Task<IReadOnlyList<PendingUpload>> AbandonedUploadsAsync(DateTimeOffset before, CancellationToken ct)
    {
        var filter = $"{TableFilters.RowKeyStartsWith("upload|")} and ExpiresAt lt datetime'{before.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffffffZ}'";
        var uploads = new List<PendingUpload>();
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct)) uploads.Add(UploadFromEntity(row));
        return uploads;
    }

    private static bool IsId(string id) => id.Length is > 0 and <= 40 && id.All(char.IsAsciiLetterOrDigit);

    private static FleetException Duplicate(ArtifactMetadata m) =>
        FleetException.Conflict($"An artifact {m.Name} {m.Version} already exists for one of the device types {string.Join(", ", m.DeviceTypesCompatible)}.");

    private static IEnumerable<string> UniqueKeys(ArtifactMetadata m) => m.DeviceTypesCompatible.Select(t => $"u|{m.Name}|{m.Version}|{t}");

    private static TableEntity ToEntity(Artifact a) => new(a.TenantId, "a|" + a.Id)
    {
        ["Name"] = a.Metadata.Name,
        ["Version"] = a.Metadata.Version,
        ["Kind"] = a.Metadata.Kind,
        ["DeviceTypes"] = JsonSerializer.Serialize(a.Metadata.DeviceTypesCompatible),
        ["Description"] = a.Metadata.Description,
        ["Provides"] = a.Metadata.Provides.ToJsonString(),
        ["Depends"] = a.Metadata.Depends.ToJsonString(),
        ["Size"] = a.Size,
        ["Sha256"] = a.Sha256,
        ["ContentType"] = a.ContentType,
        ["FileName"] = a.FileName,
        ["CreatedAt"] = a.CreatedAt,
    };

    private static Artifact FromEntity(TableEntity e) => new(
        e.RowKey[2..], e.PartitionKey,
        new ArtifactMetadata(e.GetString("Name")!, e.GetString("Version")!, e.GetString("Kind")!,
            JsonSerializer.Deserialize<List<string>>(e.GetString("DeviceTypes") ?? "[]")!, e.GetString("Description"),
            JsonNode.Parse(e.GetString("Provides") ?? "{}")!.AsObject(), JsonNode.Parse(e.GetString("Depends") ?? "{}")!.AsObject()),
        e.GetInt64("Size") ?? 0, e.GetString("Sha256") ?? "", e.GetString("ContentType") ?? "application/octet-stream", e.GetString("FileName"),
        e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue);

    private static PendingUpload UploadFromEntity(TableEntity e) => new(
        e.RowKey["upload|".Length..], e.PartitionKey, JsonSerializer.Deserialize<ArtifactMetadata>(e.GetString("Metadata")!)!,
        e.GetString("FileName"), e.GetString("ContentType") ?? "application/octet-stream", e.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue);
}
