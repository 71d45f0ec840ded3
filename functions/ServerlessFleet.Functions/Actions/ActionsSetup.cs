using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Functions.Actions;

public static class ActionsSetup
{
    public static IServiceCollection AddDeviceActions(this IServiceCollection services)
    {
        services.AddSingleton<ActionStore>();
        services.AddSingleton<DeviceInbox>();
        services.AddSingleton<ActionService>();
        services.AddSingleton<ActionCreation>();
        services.AddSingleton<ActionControl>();
        services.AddSingleton<IDeviceDecommissionHook, CancelActionsOnDecommission>();
        return services;
    }
}

/// <summary>A decommissioned device's unanswered commands are withdrawn.</summary>
internal sealed class CancelActionsOnDecommission(DeviceInbox inbox) : IDeviceDecommissionHook
{
    public async Task OnDecommissionedAsync(Device device, CancellationToken ct)
    {
        foreach (var entry in await inbox.PendingAsync(device.TenantId, device.Serial, 0, DateTimeOffset.MinValue, ct))
            await inbox.SetStatusAsync(device.TenantId, device.Serial, entry.Seq, DeviceActionStatuses.Canceled, ct);
    }
}
