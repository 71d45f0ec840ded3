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
        Device? before = null;
        var after = await OptimisticUpdate.RunAsync(
            async () => await Table.GetEntityIfExistsAsync<TableEntity>(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow, cancellationToken: ct) is
                { HasValue: true, Value: { } row } ? DeviceEntity.FromEntity(row) : null,
            device =>
            {
                before = device;
                var queue = change(device);
                return queue == device.Deployments ? null : device with { Deployments = queue };
            },
            TryWriteAsync, $"Device {serial}: deployments", known);
        return after is null ? null : (before!, after.Deployments);

        async Task<bool> TryWriteAsync(Device current, Device next)
        {
            try
            {
                await Table.UpdateEntityAsync(new TableEntity(DeviceKeys.Partition(tenantId, serial), DeviceKeys.DeviceRow)
                {
                    [DeviceEntity.DeploymentsColumn] = DeviceEntity.DeploymentsValue(next.Deployments),
                }, current.ETag, TableUpdateMode.Merge, ct);
                return true;
            }
            catch (RequestFailedException e) when (e.IsPreconditionFailed())
            {
                // The row moved (a heartbeat, another deployment): read again.
                return false;
            }
        }
    }
}
