using System.Text.Json;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.Extensions.Logging;

namespace ServerlessFleet.LocalHost.Durable;

/// <summary>
/// The Durable Task engine the Durable extension runs inside the Functions host: DurableTask.Core's worker on the
/// Azure Storage provider (the task hub's tables, queues and leases in the app's storage account), its work items
/// handed to the worker's orchestrator and activity functions, and a task-hub sidecar for the worker's
/// <c>[DurableClient]</c> bindings.
/// </summary>
public sealed class DurableEngine : IAsyncDisposable
{
    private const int MaxGrpcMessageSize = int.MaxValue;
    private readonly TaskHubWorker _worker;
    private readonly WorkItemBridge _bridge;
    private readonly HostLog _log;

    private DurableEngine(TaskHubWorker worker, WorkItemBridge bridge, AzureStorageOrchestrationService service, DurableSettings settings, Uri sidecar, HostLog log)
    {
        _worker = worker;
        _bridge = bridge;
        _log = log;
        Service = service;
        Settings = settings;
        ClientBinding = JsonSerializer.Serialize(new
        {
            taskHubName = settings.HubName,
            connectionName = settings.ConnectionName,
            rpcBaseUrl = sidecar.ToString().TrimEnd('/'),
            httpBaseUrl = "",
            requiredQueryStringParameters = "",
            maxGrpcMessageSizeInBytes = MaxGrpcMessageSize,
        });
    }

    public AzureStorageOrchestrationService Service { get; }
    public DurableSettings Settings { get; }
    /// <summary>The value the host binds to a <c>[DurableClient]</c> parameter.</summary>
    public string ClientBinding { get; }

    public static async Task<DurableEngine> StartAsync(DurableSettings settings, string connectionString, IReadOnlyList<LoadedFunction> functions,
        IFunctionInvoker invoker, TimeSpan functionTimeout, Uri sidecar, HostLog log)
    {
        var loggers = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Information).AddProvider(new EngineLog(log)));
        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = settings.HubName,
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
            PartitionCount = settings.PartitionCount,
            MaxQueuePollingInterval = settings.MaxQueuePollingInterval,
            ControlQueueVisibilityTimeout = settings.ControlQueueVisibilityTimeout,
            WorkItemQueueVisibilityTimeout = settings.WorkItemQueueVisibilityTimeout,
            MaxConcurrentTaskOrchestrationWorkItems = settings.MaxConcurrentOrchestrators,
            MaxConcurrentTaskActivityWorkItems = settings.MaxConcurrentActivities,
            LoggerFactory = loggers,
        });
        await service.CreateIfNotExistsAsync();

        var orchestrators = Named(functions, "orchestrationTrigger", "orchestration");
        var activities = Named(functions, "activityTrigger", "activity");
        var bridge = new WorkItemBridge(orchestrators, activities, invoker, functionTimeout, log);
        var worker = new TaskHubWorker(service, new FunctionNames<TaskOrchestration>(orchestrators.Keys, () => new HandledByWorker()),
            new FunctionNames<TaskActivity>(activities.Keys, () => new HandledByWorker.Activity()), loggers)
        {
            // Failure details (type, message, stack) reach the orchestrator, where retry policies and handlers read them.
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
        worker.AddOrchestrationDispatcherMiddleware(bridge.RunOrchestratorAsync);
        worker.AddActivityDispatcherMiddleware(bridge.RunActivityAsync);
        await worker.StartAsync();
        log.Host($"Durable task hub '{settings.HubName}' started ({settings.PartitionCount} partitions; {orchestrators.Count} orchestrators, {activities.Count} activities; sidecar {sidecar}).");
        return new DurableEngine(worker, bridge, service, settings, sidecar, log);
    }

    private static Dictionary<string, LoadedFunction> Named(IEnumerable<LoadedFunction> functions, string trigger, string nameProperty) =>
        functions.Where(f => f.TriggerType.Equals(trigger, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(f => f.Trigger[nameProperty]?.GetValue<string>() is { Length: > 0 } name ? name : f.Name, StringComparer.OrdinalIgnoreCase);

    public async ValueTask DisposeAsync()
    {
        // A work item still in flight is abandoned, not completed: the engine delivers it again to the next host.
        await _worker.StopAsync(isForced: true);
        var (steps, activities) = _bridge.Counts;
        _log.Host($"Durable task hub '{Settings.HubName}' stopped after {steps} orchestrator steps and {activities} activities.");
    }

    /// <summary>The engine finds an orchestration or activity by name; the worker runs it, so any registered name resolves to a placeholder.</summary>
    private sealed class FunctionNames<T>(IEnumerable<string> names, Func<T> placeholder) : INameVersionObjectManager<T>
    {
        private readonly HashSet<string> _names = new(names, StringComparer.OrdinalIgnoreCase);
        public void Add(ObjectCreator<T> creator) => throw new NotSupportedException("Functions are registered by the worker's metadata.");
        public T? GetObject(string name, string? version) => _names.Contains(name) ? placeholder() : default;
    }

    /// <summary>Never executed: the dispatch middleware answers every work item from the worker.</summary>
    private sealed class HandledByWorker : TaskOrchestration
    {
        public override Task<string> Execute(OrchestrationContext context, string input) => throw new InvalidOperationException("Run by the worker.");
        public override string GetStatus() => throw new InvalidOperationException("Run by the worker.");
        public override void RaiseEvent(OrchestrationContext context, string name, string input) => throw new InvalidOperationException("Run by the worker.");

        public sealed class Activity : TaskActivity
        {
            public override string Run(TaskContext context, string input) => throw new InvalidOperationException("Run by the worker.");
        }
    }
}
