using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Tenants;

/// <summary>
/// Tenants table: PartitionKey "tenant", RowKey = tenant id; plus PartitionKey "tenanttoken", RowKey = token →
/// tenant id, so a device's first request finds its tenant with one point read.
/// </summary>
public sealed class TenantStore(FleetStorage storage, TimeProvider clock)
{
    public const string TableName = "tenants";
    private const string Partition = "tenant";
    private const string TokenPartition = "tenanttoken";

    private TableClient Table => storage.Table(TableName);

    public async Task<Tenant> CreateAsync(string tenantId, string name, int? maxDevices, CancellationToken ct)
    {
        var token = "tt_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var entity = new TableEntity(Partition, tenantId)
        {
            ["Name"] = name,
            ["CreatedAt"] = clock.GetUtcNow(),
            ["MaxDevices"] = maxDevices,
            ["TenantToken"] = token,
        };
        try
        {
            // The index row first: an orphaned index row points at nothing, a tenant without one could never enrol devices.
            await Table.AddOnceAsync(new TableEntity(TokenPartition, token) { ["TenantId"] = tenantId }, ct);
            await Table.AddOnceAsync(entity, ct);
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            throw FleetException.Conflict($"Tenant '{tenantId}' already exists.");
        }
        return ToDomain(entity);
    }

    public async Task<Tenant> EnsureExistsAsync(string tenantId, CancellationToken ct)
    {
        var existing = await FindAsync(tenantId, ct);
        if (existing is not null) return existing;
        try
        {
            return await CreateAsync(tenantId, tenantId, null, ct);
        }
        catch (FleetException e) when (e.Category == ErrorCategory.Conflict)
        {
            return await GetAsync(tenantId, ct);
        }
    }

    public async Task<Tenant?> FindAsync(string tenantId, CancellationToken ct)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(Partition, tenantId, cancellationToken: ct);
        return row.HasValue && row.Value is not null ? ToDomain(row.Value) : null;
    }

    public async Task<Tenant?> FindByTokenAsync(string tenantToken, CancellationToken ct)
    {
        if (tenantToken.Length is 0 or > 128 || tenantToken.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_')) return null;
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(TokenPartition, tenantToken, cancellationToken: ct);
        return row.HasValue && row.Value?.GetString("TenantId") is { } tenantId ? await FindAsync(tenantId, ct) : null;
    }

    public async Task<Tenant> GetAsync(string tenantId, CancellationToken ct) =>
        await FindAsync(tenantId, ct) ?? throw FleetException.NotFound("Tenant", tenantId);

    private static Tenant ToDomain(TableEntity e) =>
        new(e.RowKey, e.GetString("Name") ?? e.RowKey, e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, e.GetInt32("MaxDevices"),
            e.GetString("TenantToken") ?? "");
}
