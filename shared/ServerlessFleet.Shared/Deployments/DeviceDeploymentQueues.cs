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
    public async Task<(Device Before, DeviceDeploymentQueue After)?> ChangeAsync(string tenantId, string serial,
        Func<Device, DeviceDeploymentQueue> change, CancellationToken ct, Device? known = null)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var device = known;
            known = null;
            if (device is null)
            {
                var row = await Table.GetEntityIfExistsAsync<TableEntity>(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow, cancellationToken: ct);
                if (!row.HasValue || row.Value is null) return null;
                device = DeviceEntity.FromEntity(row.Value);
            }
            var after = change(device);
            if (after == device.Deployments) return (device, after);
            try
            {
                await Table.UpdateEntityAsync(new TableEntity(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow)
                {
                    [DeviceEntity.DeploymentsColumn] = DeviceEntity.DeploymentsValue(after),
                }, device.ETag, TableUpdateMode.Merge, ct);
                return (device, after);
            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed())
            {
                // The row moved (a heartbeat, another deployment): read again.
            }
        }
        throw new InvalidOperationException($"Device {serial}: too many concurrent updates of its deployments.");
    }
}
