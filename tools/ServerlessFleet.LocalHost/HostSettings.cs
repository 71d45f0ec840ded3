using System.Text.Json.Nodes;
using ServerlessFleet.LocalHost.Durable;

namespace ServerlessFleet.LocalHost;

/// <summary>The queue-trigger settings of host.json (<c>extensions.queues</c>), with the host's defaults.</summary>
public sealed record QueueSettings(int BatchSize, int NewBatchThreshold, int MaxDequeueCount, TimeSpan VisibilityTimeout,
    TimeSpan MaxPollingInterval, bool Base64);

/// <summary>
/// What the Functions host reads from the app's host.json, with the app-setting overrides the host honours
/// (<c>AzureFunctionsJobHost__extensions__queues__maxDequeueCount</c> and so on).
/// </summary>
/// <param name="MaxConcurrentRequests">host.json <c>extensions.http.maxConcurrentRequests</c>; -1 is unbounded.</param>
/// <param name="MaxOutstandingRequests">host.json <c>extensions.http.maxOutstandingRequests</c>; -1 is unbounded.</param>
public sealed record HostSettings(string RoutePrefix, QueueSettings Queues, TimeSpan FunctionTimeout, DurableSettings Durable,
    int MaxConcurrentRequests = -1, int MaxOutstandingRequests = -1)
{
    public static HostSettings Load(string hostJsonPath, IReadOnlyDictionary<string, string> settings)
    {
        var root = File.Exists(hostJsonPath) ? JsonNode.Parse(File.ReadAllText(hostJsonPath)) as JsonObject : null;
        string? Read(string path)
        {
            var overrideKey = "AzureFunctionsJobHost__" + path.Replace(":", "__");
            if (settings.TryGetValue(overrideKey, out var value)) return value;
            JsonNode? node = root;
            foreach (var part in path.Split(':')) node = (node as JsonObject)?[part];
            return node?.ToString();
        }
        int Int(string key, int fallback) => int.TryParse(Read(key), out var v) ? v : fallback;
        TimeSpan Span(string key, TimeSpan fallback) => TimeSpan.TryParse(Read(key), out var v) ? v : fallback;

        var batchSize = Int("extensions:queues:batchSize", 16);
        var queues = new QueueSettings(
            batchSize,
            Int("extensions:queues:newBatchThreshold", batchSize / 2),
            Int("extensions:queues:maxDequeueCount", 5),
            Span("extensions:queues:visibilityTimeout", TimeSpan.Zero),
            Span("extensions:queues:maxPollingInterval", TimeSpan.FromMinutes(1)),
            !string.Equals(Read("extensions:queues:messageEncoding"), "none", StringComparison.OrdinalIgnoreCase));
        var prefix = Read("extensions:http:routePrefix") ?? "api";
        return new HostSettings(prefix.Trim('/'), queues, Span("functionTimeout", TimeSpan.FromMinutes(30)), DurableSettings.Load(Read),
            Int("extensions:http:maxConcurrentRequests", -1), Int("extensions:http:maxOutstandingRequests", -1));
    }
}
