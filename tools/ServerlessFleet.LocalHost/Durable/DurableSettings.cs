using System.Text.Json.Nodes;

namespace ServerlessFleet.LocalHost.Durable;

/// <summary>
/// host.json's <c>extensions.durableTask</c> as the Durable extension reads it, with its defaults (and the
/// <c>AzureFunctionsJobHost__…</c> overrides the host honours).
/// </summary>
public sealed record DurableSettings(string HubName, string ConnectionName, int PartitionCount, TimeSpan MaxQueuePollingInterval,
    TimeSpan ControlQueueVisibilityTimeout, TimeSpan WorkItemQueueVisibilityTimeout, int MaxConcurrentOrchestrators, int MaxConcurrentActivities)
{
    public static DurableSettings Load(Func<string, string?> read)
    {
        int Int(string key, int fallback) => int.TryParse(read(key), out var v) ? v : fallback;
        TimeSpan Span(string key, TimeSpan fallback) => TimeSpan.TryParse(read(key), out var v) ? v : fallback;
        var processors = Environment.ProcessorCount;
        return new DurableSettings(
            read("extensions:durableTask:hubName") ?? "TestHubName",
            read("extensions:durableTask:storageProvider:connectionName") ?? "AzureWebJobsStorage",
            Int("extensions:durableTask:storageProvider:partitionCount", 4),
            Span("extensions:durableTask:storageProvider:maxQueuePollingInterval", TimeSpan.FromSeconds(30)),
            Span("extensions:durableTask:storageProvider:controlQueueVisibilityTimeout", TimeSpan.FromMinutes(5)),
            Span("extensions:durableTask:storageProvider:workItemQueueVisibilityTimeout", TimeSpan.FromMinutes(5)),
            Int("extensions:durableTask:maxConcurrentOrchestratorFunctions", 10 * processors),
            Int("extensions:durableTask:maxConcurrentActivityFunctions", 10 * processors));
    }
}
