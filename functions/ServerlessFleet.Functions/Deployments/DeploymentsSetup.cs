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
        services.AddSingleton<DeploymentService>();
        services.AddSingleton<DeploymentLogs>();
        services.AddSingleton<DevicePoll>();
        services.AddSingleton<DeviceDeploymentReports>();
        services.AddSingleton<IArtifactUsage, ArtifactsInActiveDeployments>();
        services.AddSingleton<IDeviceDecommissionHook, LeaveDeploymentsOnDecommission>();
        services.AddSingleton<DeploymentSweeper>();
        services.AddSingleton<DeploymentHealthWatch>();
        services.AddSingleton<DeploymentCreation>();
        services.AddSingleton<DeploymentControl>();
        services.AddSingleton<OrchestrationCommands>();
        return services;
    }
}
