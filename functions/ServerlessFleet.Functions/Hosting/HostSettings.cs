using System.Text.Json.Nodes;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// The queue-trigger settings of host.json, with the same app-setting overrides the Functions host honours
/// (<c>AzureFunctionsJobHost__extensions__queues__maxDequeueCount</c> and so on).
/// </summary>
public sealed record HostSettings(
    int BatchSize,
    int NewBatchThreshold,
    int MaxDequeueCount,
    TimeSpan VisibilityTimeout,
    TimeSpan MaxPollingInterval)
{
    public const string FileName = "host.json";

    public static HostSettings Load(IConfiguration configuration, string hostJsonPath)
    {
        var queues = File.Exists(hostJsonPath)
            ? JsonNode.Parse(File.ReadAllText(hostJsonPath))?["extensions"]?["queues"] as JsonObject
            : null;
        var overrides = configuration.GetSection("AzureFunctionsJobHost:extensions:queues");

        string? Read(string key) => overrides[key] ?? queues?[key]?.ToString();
        int Int(string key, int fallback) => int.TryParse(Read(key), out var v) ? v : fallback;
        TimeSpan Span(string key, TimeSpan fallback) => TimeSpan.TryParse(Read(key), out var v) ? v : fallback;

        var batchSize = Int("batchSize", 16);
        return new HostSettings(
            batchSize,
            Int("newBatchThreshold", batchSize / 2),
            Int("maxDequeueCount", 5),
            Span("visibilityTimeout", TimeSpan.Zero),
            Span("maxPollingInterval", TimeSpan.FromMinutes(1)));
    }
}
