namespace ServerlessFleet.Shared.Orchestration;

/// <summary>The orchestrations the app runs, by the names their functions carry.</summary>
public static class OrchestrationNames
{
    public const string Deployment = "Deployment";
    public const string BulkAction = "BulkAction";
    /// <summary>The event that carries an operator's command (pause, resume, abort, cancel) to either orchestration.</summary>
    public const string ControlEvent = "Control";
}

/// <summary>
/// Starts the orchestration that drives an operation, unless an instance with that id already exists (in any state):
/// starting is safe to repeat. The function app implements it on its Durable Task client.
/// </summary>
public interface IOrchestrationStarter
{
    Task StartOnceAsync(string name, string instanceId, object input, CancellationToken ct);
}
