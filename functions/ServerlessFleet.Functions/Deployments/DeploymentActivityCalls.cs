using Microsoft.DurableTask;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Deployments;

namespace ServerlessFleet.Functions.Deployments;

/// <summary>
/// The deployment orchestration's activities as typed calls, one each, every one with the activity retry policy: the
/// orchestrator never names an activity or casts its result, and a changed activity signature breaks the build.
/// </summary>
public static class DeploymentActivityCalls
{
    public static Task<DeploymentRun?> LoadDeploymentAsync(this TaskOrchestrationContext ctx, DeploymentState state) =>
        ctx.CallActivityAsync<DeploymentRun?>(nameof(DeploymentActivities.DeploymentLoad), state, ActivityRetry.Policy);

    public static Task<DeploymentStatistics> DeploymentStatisticsAsync(this TaskOrchestrationContext ctx, DeploymentState state, DeploymentRun run) =>
        ctx.CallActivityAsync<DeploymentStatistics>(nameof(DeploymentActivities.DeploymentStatistics), new PhaseStatisticsRequest(state, run.Phases.Count), ActivityRetry.Policy);

    public static Task<int> ReleaseBatchAsync(this TaskOrchestrationContext ctx, DeploymentState state, int phase, int batch) =>
        ctx.CallActivityAsync<int>(nameof(DeploymentActivities.DeploymentRelease), new ReleaseRequest(state, phase, batch), ActivityRetry.Policy);

    public static Task<int> SweepDevicesAsync(this TaskOrchestrationContext ctx, DeploymentState state, bool lastPhaseReleased) =>
        ctx.CallActivityAsync<int>(nameof(DeploymentActivities.DeploymentSweep), new SweepRequest(state, lastPhaseReleased), ActivityRetry.Policy);

    public static Task<int> AbortDevicesAsync(this TaskOrchestrationContext ctx, DeploymentState state, string reason) =>
        ctx.CallActivityAsync<int>(nameof(DeploymentActivities.DeploymentAbortDevices), new AbortRequest(state, reason), ActivityRetry.Policy);

    public static Task<HealthCheck> CheckHealthAsync(this TaskOrchestrationContext ctx, HealthRequest request) =>
        ctx.CallActivityAsync<HealthCheck>(nameof(DeploymentActivities.DeploymentHealth), request, ActivityRetry.Policy);

    /// <returns>The rollback deployment's id; null when no device installed the release.</returns>
    public static Task<string?> RollBackAsync(this TaskOrchestrationContext ctx, DeploymentState state) =>
        ctx.CallActivityAsync<string?>(nameof(DeploymentActivities.DeploymentRollback), state, ActivityRetry.Policy);

    public static Task<bool> SetDeploymentStatusAsync(this TaskOrchestrationContext ctx, DeploymentState state, string status, string? reason) =>
        ctx.CallActivityAsync<bool>(nameof(DeploymentActivities.DeploymentSetStatus), new StatusRequest(state, status, reason), ActivityRetry.Policy);
}
