using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions.Actions;

public static class ActionsSetup
{
    public static IServiceCollection AddDeviceActions(this IServiceCollection services)
    {
        services.AddSingleton<ActionStore>();
        services.AddSingleton<DeviceInbox>();
        services.AddSingleton<ActionService>();
        services.AddSingleton<IDeviceDecommissionHook, CancelActionsOnDecommission>();
        services.Configure<OrchestrationRegistry>(r => r
            .AddOrchestrator<BulkActionState, string>(BulkActionOrchestrator.Name, BulkActionOrchestrator.RunAsync)
            .AddActivity<BulkActionState, ActionPlan>("Actions.Plan", async (s, c) =>
            {
                var action = await c.Services.GetRequiredService<ActionStore>().GetAsync(s.TenantId, s.ActionId, default);
                return new ActionPlan(action.Batches, action.Rollout.BatchSize, action.Rollout.BatchDelaySeconds, action.Rollout.StopThresholdPercent, action.ExpiresAt);
            })
            .AddActivity<BulkActionOrchestrator.BatchRequest, int>("Actions.ReleaseBatch", (b, c) =>
                c.Services.GetRequiredService<ActionService>().ReleaseBatchAsync(b.State.TenantId, b.State.ActionId, b.Batch, default))
            .AddActivity<BulkActionState, ActionProgress>("Actions.Progress", (s, c) =>
                c.Services.GetRequiredService<ActionStore>().ProgressAsync(s.TenantId, s.ActionId, default))
            .AddActivity<BulkActionOrchestrator.EndRequest, int>("Actions.End", (e, c) =>
                c.Services.GetRequiredService<ActionService>().EndOpenAsync(e.State.TenantId, e.State.ActionId, e.Status, e.PendingOnly, default))
            .AddActivity<BulkActionOrchestrator.StatusRequest, bool>("Actions.SetStatus", async (s, c) =>
            {
                await c.Services.GetRequiredService<ActionStore>().SetStatusAsync(s.State.TenantId, s.State.ActionId, s.Status, default);
                return true;
            }));
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
