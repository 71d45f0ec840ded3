using ServerlessFleet.Shared.Devices;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Deployments;

public sealed record DeploymentQuery(string? Status = null, string? Name = null, DateTimeOffset? CreatedAfter = null, DateTimeOffset? CreatedBefore = null);

/// <summary>Counts per device status, overall and per phase.</summary>
public sealed record DeploymentStatistics(IReadOnlyDictionary<string, int> Overall, IReadOnlyList<IReadOnlyDictionary<string, int>> Phases)
{
    public int Total => Overall.Values.Sum();
    public int Final => Overall.Where(c => DeviceDeploymentStatuses.IsFinal(c.Key)).Sum(c => c.Value);
    public int Succeeded => Overall.Where(c => DeviceDeploymentStatuses.IsSuccessful(c.Key)).Sum(c => c.Value);
    public int Failed => Overall.GetValueOrDefault(DeviceDeploymentStatuses.Failure);

    public int PhaseTotal(int phase) => phase < Phases.Count ? Phases[phase].Values.Sum() : 0;
    public int PhaseFinal(int phase) => phase < Phases.Count ? Phases[phase].Where(c => DeviceDeploymentStatuses.IsFinal(c.Key)).Sum(c => c.Value) : 0;
    public int PhaseSucceeded(int phase) => phase < Phases.Count ? Phases[phase].Where(c => DeviceDeploymentStatuses.IsSuccessful(c.Key)).Sum(c => c.Value) : 0;

    /// <summary>Devices of the phase that can still succeed or fail (not noartifact, aborted or decommissioned).</summary>
    public int PhaseEligible(int phase) => phase < Phases.Count
        ? Phases[phase].Where(c => c.Key is not (DeviceDeploymentStatuses.NoArtifact or DeviceDeploymentStatuses.Aborted or DeviceDeploymentStatuses.Decommissioned)).Sum(c => c.Value)
        : 0;
}

/// <summary>
/// <c>deployments</c> (PartitionKey = tenant, RowKey = time-ordered id) and <c>deploymentdevices</c> (PartitionKey =
/// <c>{tenant}:{deployment}:NN</c>, see <see cref="RecordPartitions"/>, RowKey = serial), with status counters beside the
/// records (<see cref="PartitionCounters"/>): a device's report is one transaction of its record and its partition's
/// counters, statistics are one point read per partition.
/// </summary>
public sealed class DeploymentStore(FleetStorage storage, TimeProvider clock)
{
    public const string DeploymentsTable = "deployments";
    public const string RecordsTable = "deploymentdevices";
    private TableClient Deployments => storage.Table(DeploymentsTable);
    private TableClient Records => storage.Table(RecordsTable);
    private PartitionCounters Counters => new(Records);

    public string NewId() => TimeOrderedIds.New(clock);

    private static string RecordScope(string tenantId, string deploymentId) => $"{tenantId}:{deploymentId}";

    public static string RecordPartition(string tenantId, string deploymentId, string serial) => RecordPartitions.Of(RecordScope(tenantId, deploymentId), serial);

    private static string Counter(string status) => "S_" + status.Replace('-', '_');
    private static string PhaseCounter(int phase, string status) => $"P{phase}_" + status.Replace('-', '_');

    public async Task CreateAsync(Deployment deployment, IReadOnlyList<DeviceDeployment> records, CancellationToken ct)
    {
        // Records and their counts first: a deployment row always has all its records.
        var entities = records.Select(r => (Record: r, Entity: ToEntity(RecordPartition(deployment.TenantId, deployment.Id, r.Serial), r))).ToList();
        await Parallel.ForEachAsync(entities.GroupBy(e => e.Entity.PartitionKey).SelectMany(p => p.Chunk(100)),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (chunk, token) =>
                await Records.SubmitTransactionAsync(chunk.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e.Entity)), token));
        await Counters.SeedAsync(entities.SelectMany(e => new[] { (e.Entity.PartitionKey, Counter(e.Record.Status)), (e.Entity.PartitionKey, PhaseCounter(e.Record.Phase, e.Record.Status)) }), ct);
        await Deployments.AddOnceAsync(ToEntity(deployment), ct);
    }

    public async Task<Deployment?> FindAsync(string tenantId, string id, CancellationToken ct)
    {
        if (!IsId(id)) return null;
        var row = await Deployments.GetEntityIfExistsAsync<TableEntity>(tenantId, id, cancellationToken: ct);
        return row.HasValue && row.Value is not null ? FromEntity(row.Value) : null;
    }

    public async Task<Deployment> GetAsync(string tenantId, string id, CancellationToken ct) =>
        await FindAsync(tenantId, id, ct) ?? throw FleetException.NotFound("Deployment", id);

    private static bool IsId(string id) => id.Length is > 0 and <= 40 && id.All(char.IsAsciiLetterOrDigit);

    public Task SetStatusAsync(string tenantId, string id, string status, string? reason, CancellationToken ct) =>
        Deployments.UpdateEntityAsync(new TableEntity(tenantId, id)
        {
            ["Status"] = status,
            ["StatusReason"] = reason ?? "",
            ["FinishedAt"] = DeploymentStatuses.IsActive(status) ? null : clock.GetUtcNow(),
        }, ETag.All, TableUpdateMode.Merge, ct);

    /// <summary>Links a deployment to the rollback deployment created for it.</summary>
    public Task SetRolledBackByAsync(string tenantId, string id, string rollbackId, CancellationToken ct) =>
        Deployments.UpdateEntityAsync(new TableEntity(tenantId, id) { ["RolledBackBy"] = rollbackId }, ETag.All, TableUpdateMode.Merge, ct);

    public async Task<ListPage<Deployment>> ListAsync(string tenantId, DeploymentQuery query, PageRequest page, CancellationToken ct)
    {
        var filter = TableFilters.And(TableFilters.PartitionEquals(tenantId),
            query.Status is null ? null : $"Status eq {TableFilters.Quote(query.Status)}",
            query.Name is null ? null : $"Name eq {TableFilters.Quote(query.Name)}",
            query.CreatedAfter is { } after ? $"CreatedAt ge datetime'{after.UtcDateTime:O}'" : null,
            query.CreatedBefore is { } before ? $"CreatedAt lt datetime'{before.UtcDateTime:O}'" : null);
        return await TablePager.ReadAsync<TableEntity, Deployment>(Deployments, filter, page, FromEntity, ct);
    }

    /// <summary>The tenant's deployments that are not finished or aborted.</summary>
    public async Task<IReadOnlyList<Deployment>> ActiveAsync(string tenantId, CancellationToken ct)
    {
        var filter = TableFilters.And(TableFilters.PartitionEquals(tenantId), $"Status ne '{DeploymentStatuses.Finished}' and Status ne '{DeploymentStatuses.Aborted}'");
        var active = new List<Deployment>();
        await foreach (var row in Deployments.QueryAsync<TableEntity>(filter, cancellationToken: ct)) active.Add(FromEntity(row));
        return active;
    }

    public async Task<DeviceDeployment?> FindRecordAsync(string tenantId, string deploymentId, string serial, CancellationToken ct)
    {
        if (!IsId(deploymentId)) return null;
        var row = await Records.GetEntityIfExistsAsync<TableEntity>(RecordPartition(tenantId, deploymentId, serial), serial, cancellationToken: ct);
        return row.HasValue && row.Value is not null ? RecordFromEntity(row.Value) : null;
    }

    /// <summary>Writes a record changed from <paramref name="before"/> (or new, when it is null) with its counts; false when it moved meanwhile.</summary>
    public Task<bool> TryWriteRecordAsync(string tenantId, string deploymentId, DeviceDeployment? before, DeviceDeployment after, CancellationToken ct)
    {
        var deltas = new Dictionary<string, long>();
        void Add(string counter, long delta) => deltas[counter] = deltas.GetValueOrDefault(counter) + delta;
        if (before is not null)
        {
            Add(Counter(before.Status), -1);
            Add(PhaseCounter(before.Phase, before.Status), -1);
        }
        Add(Counter(after.Status), 1);
        Add(PhaseCounter(after.Phase, after.Status), 1);
        var entity = ToEntity(RecordPartition(tenantId, deploymentId, after.Serial), after);
        entity.ETag = before?.ETag ?? default;
        return Counters.TryWriteAsync(entity, deltas, ct);
    }

    public Task<ListPage<DeviceDeployment>> ListRecordsAsync(string tenantId, string deploymentId, string? status, PageRequest page, CancellationToken ct) =>
        TablePager.ReadAsync<TableEntity, DeviceDeployment>(Records,
            TableFilters.And(RecordPartitions.Filter(RecordScope(tenantId, deploymentId)), PartitionCounters.ExcludeCounters,
                status is null ? null : $"Status eq {TableFilters.Quote(status)}"), page, RecordFromEntity, ct);

    /// <summary>Records matching an extra server-side filter (one scan of the deployment's partition).</summary>
    public async Task<IReadOnlyList<DeviceDeployment>> RecordsAsync(string tenantId, string deploymentId, string? filter, CancellationToken ct)
    {
        var records = new List<DeviceDeployment>();
        var query = TableFilters.And(RecordPartitions.Filter(RecordScope(tenantId, deploymentId)), PartitionCounters.ExcludeCounters, filter);
        await foreach (var row in Records.QueryAsync<TableEntity>(query, maxPerPage: 1000, cancellationToken: ct)) records.Add(RecordFromEntity(row));
        return records;
    }

    public async Task<DeploymentStatistics> StatisticsAsync(string tenantId, string deploymentId, int phases, CancellationToken ct)
    {
        var counts = await Counters.ReadAsync(RecordPartitions.All(RecordScope(tenantId, deploymentId)), ct);
        IReadOnlyDictionary<string, int> Read(Func<string, string> name) => DeviceDeploymentStatuses.All.ToDictionary(s => s, s => (int)counts.GetValueOrDefault(name(s)));
        return new DeploymentStatistics(Read(Counter), Enumerable.Range(0, phases).Select(p => Read(s => PhaseCounter(p, s))).ToList());
    }

    private static TableEntity ToEntity(Deployment d) => new(d.TenantId, d.Id)
    {
        ["Name"] = d.Name,
        ["Artifacts"] = JsonSerializer.Serialize(d.Artifacts),
        ["Target"] = JsonSerializer.Serialize(d.Target),
        ["Phases"] = JsonSerializer.Serialize(d.Phases),
        ["Policy"] = JsonSerializer.Serialize(d.Policy),
        ["ForceInstall"] = d.ForceInstall,
        ["Status"] = d.Status,
        ["StatusReason"] = d.StatusReason ?? "",
        ["CreatedAt"] = d.CreatedAt,
        ["FinishedAt"] = d.FinishedAt,
        ["CreatedBy"] = d.CreatedBy,
        ["RollbackOf"] = d.RollbackOf,
        ["RolledBackBy"] = d.RolledBackBy,
    };

    private static Deployment FromEntity(TableEntity e) => new(e.RowKey, e.PartitionKey, e.GetString("Name") ?? "",
        JsonSerializer.Deserialize<List<DeploymentArtifact>>(e.GetString("Artifacts")!)!, JsonSerializer.Deserialize<DeploymentTarget>(e.GetString("Target")!)!,
        JsonSerializer.Deserialize<List<DeploymentPhase>>(e.GetString("Phases")!)!, JsonSerializer.Deserialize<DeploymentPolicy>(e.GetString("Policy")!)!,
        e.GetBoolean("ForceInstall") ?? false, e.GetString("Status") ?? DeploymentStatuses.Pending, e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
        e.GetDateTimeOffset("FinishedAt"), e.GetString("CreatedBy") ?? "", e.GetString("StatusReason") is { Length: > 0 } reason ? reason : null,
        e.GetString("RollbackOf"), e.GetString("RolledBackBy"));

    private static TableEntity ToEntity(string partition, DeviceDeployment r) => new(partition, r.Serial)
    {
        ["Status"] = r.Status,
        ["Phase"] = r.Phase,
        ["Batch"] = r.Batch,
        ["ArtifactId"] = r.ArtifactId,
        ["DeviceType"] = r.DeviceType,
        ["Attempts"] = r.Attempts,
        ["CreatedAt"] = r.CreatedAt,
        ["OfferedAt"] = r.OfferedAt,
        ["AssignedAt"] = r.AssignedAt,
        ["StartedAt"] = r.StartedAt,
        ["FinishedAt"] = r.FinishedAt,
        ["LastReportAt"] = r.LastReportAt,
        ["Substate"] = r.Substate,
    };

    private static DeviceDeployment RecordFromEntity(TableEntity e) => new(e.RowKey, e.GetString("Status")!, e.GetInt32("Phase") ?? 0, e.GetInt32("Batch") ?? 0,
        e.GetString("ArtifactId"), e.GetString("DeviceType"), e.GetInt32("Attempts") ?? 0, e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
        e.GetDateTimeOffset("OfferedAt"), e.GetDateTimeOffset("AssignedAt"), e.GetDateTimeOffset("StartedAt"), e.GetDateTimeOffset("FinishedAt"),
        e.GetDateTimeOffset("LastReportAt"), e.GetString("Substate"), e.ETag);
}
