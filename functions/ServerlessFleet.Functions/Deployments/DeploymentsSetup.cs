using ServerlessFleet.Functions.Devices;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions.Deployments;

public static class DeploymentsSetup
{
    public static IServiceCollection AddDeployments(this IServiceCollection services)
    {
        services.AddSingleton<DeploymentStore>();
        services.AddSingleton<DeviceDeploymentQueues>();
        services.AddSingleton<DeploymentService>();
        services.AddSingleton<DeploymentLogs>();
        services.AddSingleton<IArtifactUsage, ArtifactsInActiveDeployments>();
        services.AddSingleton<IDeviceDecommissionHook, LeaveDeploymentsOnDecommission>();
        services.Configure<OrchestrationRegistry>(r => r
            .AddOrchestrator<DeploymentState, string>(DeploymentOrchestrator.Name, DeploymentOrchestrator.RunAsync)
            .AddActivity<DeploymentState, DeploymentRun>("Deployments.Load", async (s, c) =>
            {
                var d = await c.Services.GetRequiredService<DeploymentStore>().GetAsync(s.TenantId, s.DeploymentId, default);
                return new DeploymentRun(d.Phases, d.Policy, d.Target.Dynamic, d.Status);
            })
            .AddActivity<DeploymentOrchestrator.StatisticsRequest, DeploymentStatistics>("Deployments.Statistics", (s, c) =>
                c.Services.GetRequiredService<DeploymentStore>().StatisticsAsync(s.State.TenantId, s.State.DeploymentId, s.Phases, default))
            .AddActivity<DeploymentOrchestrator.ReleaseRequest, int>("Deployments.Release", (s, c) =>
                c.Services.GetRequiredService<DeploymentService>().AssignBatchAsync(s.State.TenantId, s.State.DeploymentId, s.Phase, s.Batch, default))
            .AddActivity<DeploymentOrchestrator.SweepRequest, int>("Deployments.Sweep", (s, c) => SweepAsync(s, c.Services))
            .AddActivity<DeploymentState, int>("Deployments.Abort", (s, c) =>
                c.Services.GetRequiredService<DeploymentService>().AbortAsync(s.TenantId, s.DeploymentId, default))
            .AddActivity<DeploymentOrchestrator.StatusRequest, bool>("Deployments.SetStatus", async (s, c) =>
            {
                await c.Services.GetRequiredService<DeploymentStore>().SetStatusAsync(s.State.TenantId, s.State.DeploymentId, s.Status, s.Reason, default);
                return true;
            }));
        return services;
    }

    /// <summary>Times out silent devices and lets devices that newly match a dynamic target join.</summary>
    private static async Task<int> SweepAsync(DeploymentOrchestrator.SweepRequest request, IServiceProvider services)
    {
        var store = services.GetRequiredService<DeploymentStore>();
        var deployments = services.GetRequiredService<DeploymentService>();
        var deployment = await store.GetAsync(request.State.TenantId, request.State.DeploymentId, default);
        var changed = await deployments.TimeOutAsync(deployment, default);
        if (deployment.Target.Filter is { } filter)
        {
            var matching = await services.GetRequiredService<DeviceTargets>().FilterAsync(deployment.TenantId, filter, default);
            changed += await deployments.JoinAsync(deployment, matching.Select(m => (m.Serial, m.DeviceType)).ToList(), request.LastPhaseReleased, default);
        }
        return changed;
    }
}

/// <summary>An artifact cannot be deleted while a deployment that is not finished or aborted uses it.</summary>
internal sealed class ArtifactsInActiveDeployments(DeploymentStore store) : IArtifactUsage
{
    public async Task<bool> IsInUseAsync(string tenantId, string artifactId, CancellationToken ct) =>
        (await store.ActiveAsync(tenantId, ct)).Any(d => d.Artifacts.Any(a => a.Id == artifactId));
}

/// <summary>A decommissioned device leaves its deployments (its records end as decommissioned).</summary>
internal sealed class LeaveDeploymentsOnDecommission(DeploymentService deployments) : IDeviceDecommissionHook
{
    public Task OnDecommissionedAsync(Device device, CancellationToken ct) => deployments.DecommissionAsync(device, ct);
}
