using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Groups;

namespace ServerlessFleet.Functions.Deployments;

public sealed record SweepRequest(DeploymentState State, bool LastPhaseReleased);
public sealed record PhaseStatisticsRequest(DeploymentState State, int Phases);
public sealed record ReleaseRequest(DeploymentState State, int Phase, int Batch);
public sealed record StatusRequest(DeploymentState State, string Status, string? Reason);
public sealed record AbortRequest(DeploymentState State, string Reason);
/// <summary><see cref="Since"/>: when the watch began; samples from then on are judged.</summary>
public sealed record HealthRequest(DeploymentState State, int Phase, HealthGate Gate, int Phases, DateTimeOffset Since);

/// <summary>The deployment orchestration's activities: each a thin call into the deployment services.</summary>
public sealed class DeploymentActivities(DeploymentStore store, DeploymentService deployments, DeploymentSweeper sweep, GroupReleases groupReleases,
    DeploymentHealthWatch health, DeploymentCreation creation)
{
    [Function(nameof(DeploymentLoad))]
    public async Task<DeploymentRun?> DeploymentLoad([ActivityTrigger] DeploymentState state, CancellationToken ct) =>
        await store.FindAsync(state.TenantId, state.DeploymentId, ct) is { } d ? new DeploymentRun(d.Phases, d.Policy, d.Target.Dynamic, d.Status) : null;

    [Function(nameof(DeploymentStatistics))]
    public Task<DeploymentStatistics> DeploymentStatistics([ActivityTrigger] PhaseStatisticsRequest request, CancellationToken ct) =>
        store.StatisticsAsync(request.State.TenantId, request.State.DeploymentId, request.Phases, ct);

    [Function(nameof(DeploymentRelease))]
    public Task<int> DeploymentRelease([ActivityTrigger] ReleaseRequest request, CancellationToken ct) =>
        deployments.AssignBatchAsync(request.State.TenantId, request.State.DeploymentId, request.Phase, request.Batch, ct);

    [Function(nameof(DeploymentSweep))]
    public Task<int> DeploymentSweep([ActivityTrigger] SweepRequest request, CancellationToken ct) =>
        sweep.SweepAsync(request.State.TenantId, request.State.DeploymentId, request.LastPhaseReleased, ct);

    [Function(nameof(DeploymentAbortDevices))]
    public Task<int> DeploymentAbortDevices([ActivityTrigger] AbortRequest request, CancellationToken ct) =>
        deployments.AbortAsync(request.State.TenantId, request.State.DeploymentId, request.Reason, ct);

    [Function(nameof(DeploymentHealth))]
    public Task<HealthCheck> DeploymentHealth([ActivityTrigger] HealthRequest request, CancellationToken ct) =>
        health.CheckAsync(request.State.TenantId, request.State.DeploymentId, request.Phase, request.Phases, request.Gate, request.Since, ct);

    /// <summary>Creates and starts the rollback deployment (once: its id derives from this deployment's); null when no device installed the release.</summary>
    [Function(nameof(DeploymentRollback))]
    public Task<string?> DeploymentRollback([ActivityTrigger] DeploymentState state, [DurableClient] DurableTaskClient durable, CancellationToken ct) =>
        creation.RollBackAsync(state.TenantId, state.DeploymentId, new Orchestrations(durable), ct);

    [Function(nameof(DeploymentSetStatus))]
    public async Task<bool> DeploymentSetStatus([ActivityTrigger] StatusRequest request, CancellationToken ct)
    {
        await store.SetStatusAsync(request.State.TenantId, request.State.DeploymentId, request.Status, request.Reason, ct);
        if (request.Status == DeploymentStatuses.Finished) await groupReleases.RecordFinishedRolloutAsync(request.State.TenantId, request.State.DeploymentId, ct);
        return true;
    }
}
