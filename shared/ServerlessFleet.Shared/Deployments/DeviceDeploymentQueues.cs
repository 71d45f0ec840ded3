using Azure;
using Azure.Data.Tables;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>
/// Changes the deployment queue on a device row: one point read and one merge of one column, guarded by the row's
/// ETag, so concurrent deployments, the device's own reports and other device writes never lose each other's change.
/// </summary>
public sealed class DeviceDeploymentQueues(FleetStorage storage)
{
    private TableClient Table => storage.Table(DeviceKeys.TableName);

    /// <summary>The device before the change and the queue after it; null when the device does not exist.</summary>
    /// <param name="installed">A release the device now runs, recorded in its inventory (<c>artifact_name</c>,
    /// <c>artifact_version</c>) in the same write, as a Mender client reports it after an update.</param>
    public async Task<(Device Before, DeviceDeploymentQueue After)?> ChangeAsync(string tenantId, string serial,
        Func<Device, DeviceDeploymentQueue> change, CancellationToken ct, Device? known = null, DeploymentArtifact? installed = null)
    {
        Device? before = null;
        var after = await OptimisticUpdate.RunAsync(
            async () => await Table.GetEntityIfExistsAsync<TableEntity>(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow, cancellationToken: ct) is
                { HasValue: true, Value: { } row } ? DeviceEntity.FromEntity(row) : null,
            device =>
            {
                before = device;
                var queue = change(device);
                var next = installed is null ? device : WithInstalled(device, installed);
                return queue == device.Deployments && next == device ? null : next with { Deployments = queue };
            },
            TryWriteAsync, $"Device {serial}: deployments", known);
        return after is null ? null : (before!, after.Deployments);

        async Task<bool> TryWriteAsync(Device current, Device next)
        {
            try
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

    private static Device WithInstalled(Device device, DeploymentArtifact installed)
    {
        var inventory = device.Scope(AttributeScope.Inventory);
        if (inventory.GetValueOrDefault("artifact_name")?.ToString() == installed.Name && inventory.GetValueOrDefault("artifact_version")?.ToString() == installed.Version)
            return device;
        var next = inventory.ToDictionary(a => a.Key, a => a.Value?.DeepClone(), StringComparer.Ordinal);
        next["artifact_name"] = installed.Name;
        next["artifact_version"] = installed.Version;
        return device.WithScope(AttributeScope.Inventory, next);
    }
}
