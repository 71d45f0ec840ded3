using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Shared.Deployments;

public static class DeploymentCommands
{
    public const string Pause = "pause";
    public const string Resume = "resume";
    public const string Abort = "abort";
}

/// <summary>
/// An operator pausing, resuming or aborting a deployment: refused when it cannot apply, and a command that changes
/// nothing (pausing a paused deployment) raises no event. Answers with the deployment after the change, or as it stands
/// when the orchestration has not applied it within the wait (the command still stands).
/// </summary>
public sealed class DeploymentControl(DeploymentStore store, OrchestrationCommands commands, AuditLog audit)
{
    public async Task<(Deployment Deployment, DeploymentStatistics Statistics, bool Applied)> SendAsync(Actor actor, string id, string command,
        IOrchestrationEvents events, CancellationToken ct)
    {
        var deployment = await store.GetAsync(actor.TenantId, id, ct);
        if (!DeploymentStatuses.IsActive(deployment.Status)) throw FleetException.Conflict($"The deployment is {deployment.Status}.");
        if (command == DeploymentCommands.Resume && deployment.Status != DeploymentStatuses.Paused)
            throw FleetException.Conflict($"The deployment is {deployment.Status}, not paused.");
        var applied = true;
        if (!(command == DeploymentCommands.Pause && deployment.Status == DeploymentStatuses.Paused))
        {
            var before = deployment.Status;
            (deployment, applied) = await commands.SendAsync(events, deployment.InstanceId, command, t => store.GetAsync(actor.TenantId, id, t), d => Applied(command, d.Status), ct);
            await audit.RecordAsync(actor, $"deployment.{command}", "deployment", id, new { Status = before }, new { command }, ct);
        }
        return (deployment, await store.StatisticsAsync(actor.TenantId, id, deployment.Phases.Count, ct), applied);
    }

    public static bool Applied(string command, string status) => command switch
    {
        DeploymentCommands.Pause => status != DeploymentStatuses.InProgress && status != DeploymentStatuses.Pending && status != DeploymentStatuses.Scheduled,
        DeploymentCommands.Resume => status != DeploymentStatuses.Paused,
        _ => !DeploymentStatuses.IsActive(status),
    };
}
