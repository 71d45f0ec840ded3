namespace ServerlessFleet.Shared.Orchestration;

public delegate Task<string?> ActivityFunction(string? input, ActivityContext context);

/// <summary>The orchestrators and activities the app knows, by name; filled at start-up by each feature.</summary>
public sealed class OrchestrationRegistry
{
    private readonly Dictionary<string, OrchestratorFunction> _orchestrators = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ActivityFunction> _activities = new(StringComparer.Ordinal);

    public OrchestrationRegistry AddOrchestrator<TInput, TOutput>(string name, Func<IOrchestrationContext, TInput, Task<TOutput>> orchestrator)
    {
        _orchestrators[name] = async (context, input) =>
            OrchestrationJson.Serialize(await orchestrator(context, OrchestrationJson.Deserialize<TInput>(input)));
        return this;
    }

    public OrchestrationRegistry AddActivity<TInput, TOutput>(string name, Func<TInput, ActivityContext, Task<TOutput>> activity)
    {
        _activities[name] = async (input, context) =>
            OrchestrationJson.Serialize(await activity(OrchestrationJson.Deserialize<TInput>(input), context));
        return this;
    }

    public OrchestratorFunction? Orchestrator(string name) => _orchestrators.GetValueOrDefault(name);
    public ActivityFunction? Activity(string name) => _activities.GetValueOrDefault(name);
    public bool HasOrchestrator(string name) => _orchestrators.ContainsKey(name);
}
