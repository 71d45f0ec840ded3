using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Shared.Actions;

public static class ActionCommands
{
    public const string Pause = "pause";
    public const string Resume = "resume";
    public const string Cancel = "cancel";
}

/// <summary>
/// An operator pausing, resuming or cancelling a bulk action (with the action type's own scope): refused when it cannot
/// apply, and a command that changes nothing raises no event. Answers with the action after the change, or as it stands
/// when the orchestration has not applied it within the wait (the command still stands).
/// </summary>
public sealed class ActionControl(ActionStore store, OrchestrationCommands commands, AuditLog audit)
{
    public async Task<(DeviceAction Action, ActionProgress Progress, bool Applied)> SendAsync(Actor actor, string id, string command, IOrchestrationEvents events,
        CancellationToken ct)
    {
        var action = await store.GetAsync(actor.TenantId, id, ct);
        ActionCreation.RequireScopeFor(actor, action.Type);
        if (ActionStatuses.IsFinal(action.Status)) throw FleetException.Conflict($"The action is {action.Status}.");
        if (command == ActionCommands.Resume && action.Status != ActionStatuses.Paused) throw FleetException.Conflict($"The action is {action.Status}, not paused.");
        var applied = true;
        if (!(command == ActionCommands.Pause && action.Status == ActionStatuses.Paused))
        {
            (action, applied) = await commands.SendAsync(events, action.InstanceId, command, t => store.GetAsync(actor.TenantId, id, t), a => Applied(command, a.Status), ct);
            await audit.RecordAsync(actor, $"action.{command}", "action", id, null, new { command }, ct);
        }
        return (action, await store.ProgressAsync(actor.TenantId, id, ct), applied);
    }

    public static bool Applied(string command, string status) => command switch
    {
        ActionCommands.Pause => status != ActionStatuses.Running && status != ActionStatuses.Pending,
        ActionCommands.Resume => status != ActionStatuses.Paused,
        _ => ActionStatuses.IsFinal(status),
    };
}
