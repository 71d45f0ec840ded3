using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Devices;

/// <summary>
/// Devices of a tenant, and the one writer of the device row (RowKey <c>device</c>): its keys, its mapping and every
/// merge of it. Reads by serial are point reads; writes are read-modify-write guarded by the row's ETag, retried on a
/// concurrent change unless the caller pinned a version with If-Match (then 412). The other rows of a device's
/// partition belong to their own stores (the inbox, the auth sets); a change that must commit with the device row
/// takes its part of the transaction from here.
/// </summary>
public sealed partial class DeviceStore(FleetStorage storage, TimeProvider clock)
{
    private TableClient Table => storage.Table(DeviceKeys.TableName);

    public async Task<Device> CreateAsync(string tenantId, NewDevice request, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var device = new Device(tenantId, request.Serial, request.Name, request.OwnerRef, request.HardwareVersion, request.DeviceType,
            request.Group, request.Tags, DeviceStatuses.NoAuth, now, now, null, new Dictionary<AttributeScope, IReadOnlyDictionary<string, JsonNode?>>());
        try
        {
            var etag = await Table.AddOnceAsync(DeviceEntity.ToEntity(device), ct);
            return device with { ETag = etag };
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            // A decommissioned serial may be registered again; an active one may not.
            var existing = await Table.GetEntityAsync<TableEntity>(DeviceKeys.Partition(tenantId, request.Serial), DeviceKeys.DeviceRow, cancellationToken: ct);
            if (DeviceEntity.FromEntity(existing.Value).Status != DeviceStatuses.Decommissioned)
                throw FleetException.Conflict($"A device with serial '{request.Serial}' already exists.");
            var response = await Table.UpdateEntityAsync(DeviceEntity.ToEntity(device), existing.Value.ETag, TableUpdateMode.Replace, ct);
            return device with { ETag = response.Headers.ETag ?? default };
        }
    }

    /// <summary>The device, or null when it does not exist or was decommissioned.</summary>
    public async Task<Device?> FindAsync(string tenantId, string serial, CancellationToken ct) =>
        await ReadAsync(tenantId, serial, ct) is { } device && device.Status != DeviceStatuses.Decommissioned ? device : null;

    /// <summary>The device row as stored, decommissioned or not; null when there is none.</summary>
    public async Task<Device?> ReadAsync(string tenantId, string serial, CancellationToken ct) =>
        await Table.GetEntityIfExistsAsync<TableEntity>(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow, cancellationToken: ct) is
            { HasValue: true, Value: { } row } ? DeviceEntity.FromEntity(row) : null;

    public async Task<Device> GetAsync(string tenantId, string serial, CancellationToken ct) =>
        await FindAsync(tenantId, serial, ct) ?? throw FleetException.NotFound("Device", serial);

    /// <summary>
    /// Applies <paramref name="change"/> to the current device and writes it. Without <paramref name="ifMatch"/>
    /// a concurrent write makes it re-read and re-apply (a merge), with backoff, however many writers there are; the
    /// caller never sees a precondition it did not set. With it, a changed device is a 412. <paramref name="known"/>
    /// saves the first read when the caller has just read the row.
    /// </summary>
    public async Task<(Device Before, Device After)> UpdateAsync(string tenantId, string serial, Func<Device, Device> change,
        ETag? ifMatch, CancellationToken ct, Device? known = null)
    {
        var pinned = ifMatch is { } tag && tag != ETag.All ? tag : (ETag?)null;
        Device? before = null;
        var written = default(ETag);
        var after = await OptimisticUpdate.RunAsync(
            () => FindAsync(tenantId, serial, ct),
            current =>
            {
                if (pinned is { } expected && expected != current.ETag) throw FleetException.PreconditionFailed();
                before = current;
                return change(current) with { UpdatedAt = clock.GetUtcNow() };
            },
            async (current, next) =>
            {
                try
                {
                    written = (await Table.UpdateEntityAsync(DeviceEntity.ToEntity(next), current.ETag, TableUpdateMode.Replace, ct)).Headers.ETag ?? default;
                    return true;
                }
                catch (RequestFailedException e) when (e.IsPreconditionFailed())
                {
                    if (pinned is not null) throw FleetException.PreconditionFailed();
                    return false;
                }
            }, $"Device {serial}", known);
        return after is null ? throw FleetException.NotFound("Device", serial) : (before!, after with { ETag = written });
    }

    /// <summary>
    /// Changes the device's deployment queue: one point read (saved when <paramref name="known"/> is the row just read)
    /// and one merge of one column under the row's ETag, so concurrent deployments, the device's own reports and other
    /// device writes never lose each other's change. The device before the change and the queue after it; null when
    /// the device does not exist.
    /// </summary>
    /// <param name="installed">A release the device now runs, recorded in its inventory (<c>artifact_name</c>,
    /// <c>artifact_version</c>) in the same write, as a Mender client reports it after an update.</param>
    public async Task<(Device Before, DeviceDeploymentQueue After)?> ChangeDeploymentsAsync(string tenantId, string serial,
        Func<Device, DeviceDeploymentQueue> change, CancellationToken ct, Device? known = null, DeploymentArtifact? installed = null)
    {
        Device? before = null;
        var after = await OptimisticUpdate.RunAsync(
            () => ReadAsync(tenantId, serial, ct),
            device =>
            {
                before = device;
                var queue = change(device);
                var next = installed is null ? device : device.WithInstalled(installed);
                return queue == device.Deployments && next == device ? null : next with { Deployments = queue };
            },
            TryMergeAsync, $"Device {serial}: deployments", known);
        return after is null ? null : (before!, after.Deployments);

        async Task<bool> TryMergeAsync(Device current, Device next)
        {
            var row = new TableEntity(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow)
            {
                [DeviceEntity.DeploymentsColumn] = DeviceEntity.DeploymentsValue(next.Deployments),
            };
            if (!ReferenceEquals(next.Attributes, current.Attributes))
            {
                var full = DeviceEntity.ToEntity(next);
                foreach (var column in new[] { DeviceEntity.Column(AttributeScope.Inventory), "Release" }) row[column] = full[column];
            }
            try
            {
                await Table.UpdateEntityAsync(row, current.ETag, TableUpdateMode.Merge, ct);
                return true;
            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed())
            {
                // The row moved (a heartbeat, another deployment): read again.
                return false;
            }
        }
    }

    /// <summary>
    /// The device row and the partition's rows whose key starts with <paramref name="rowPrefix"/>, in one partition
    /// read, for a store whose rows commit together with the device row.
    /// </summary>
    public async Task<(Device? Device, IReadOnlyList<TableEntity> Rows)> ReadWithRowsAsync(string tenantId, string serial, string rowPrefix, CancellationToken ct)
    {
        Device? device = null;
        var rows = new List<TableEntity>();
        await foreach (var row in Table.QueryAsync<TableEntity>(TableFilters.PartitionEquals(DeviceKeys.Partition(tenantId, serial)), cancellationToken: ct))
        {
            if (row.RowKey == DeviceKeys.DeviceRow) device = DeviceEntity.FromEntity(row);
            else if (row.RowKey.StartsWith(rowPrefix, StringComparison.Ordinal)) rows.Add(row);
        }
        return (device, rows);
    }

    /// <summary>The device row's part of a partition transaction: added when there was none, else replaced under the ETag it was read with.</summary>
    public static TableTransactionAction WriteAction(Device? stored, Device updated) => stored is null
        ? new(TableTransactionActionType.Add, DeviceEntity.ToEntity(updated))
        : new(TableTransactionActionType.UpdateReplace, DeviceEntity.ToEntity(updated), stored.ETag);

    /// <summary>Advances the device's inbox counter in a partition transaction, under the ETag the device was read with.</summary>
    public static TableTransactionAction InboxSeqAction(Device stored, long seq) =>
        new(TableTransactionActionType.UpdateMerge, new TableEntity(DeviceKeys.Partition(stored.TenantId, stored.Serial), DeviceKeys.DeviceRow) { ["InboxSeq"] = seq }, stored.ETag);

    /// <summary>Sets the device's count of invalid reports in a row; one merge of one column, no read.</summary>
    public Task SetInvalidReportsAsync(string tenantId, string serial, int count, CancellationToken ct) =>
        Table.UpdateEntityAsync(new TableEntity(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow) { [DeviceEntity.InvalidReportsColumn] = count },
            ETag.All, TableUpdateMode.Merge, ct);

    /// <summary>Records that the device was seen; one merge of one column, no read.</summary>
    public Task RecordSeenAsync(string tenantId, string serial, DateTimeOffset at, CancellationToken ct) =>
        Table.UpdateEntityAsync(new TableEntity(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow) { ["LastSeen"] = at },
            ETag.All, TableUpdateMode.Merge, ct);
}
