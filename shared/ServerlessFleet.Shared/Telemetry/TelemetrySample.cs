using System.Text.RegularExpressions;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Telemetry;

/// <summary>One measurement: a single <see cref="Value"/> or named <see cref="Values"/>.</summary>
public sealed record TelemetrySample(string? Type, DateTimeOffset? Timestamp, double? Value, IReadOnlyDictionary<string, double>? Values);

/// <summary>
/// What each sample type must carry. battery: value 0–100 (%); temperature: value −100–200 (°C); storage:
/// values usedBytes ≤ totalBytes; uptime: value ≥ 0 (s); location: values lat, lon (and optional accuracy, m);
/// wifi-strength: value −150–0 (dBm); metric.&lt;name&gt;: value, or up to 20 numeric values.
/// </summary>
public static partial class TelemetryRules
{
    public const int MaxSamplesPerBatch = 500;
    public const string Location = "location";
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromMinutes(5);

    [GeneratedRegex("^metric\\.[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex MetricType();

    public static bool IsKnownType(string type) =>
        type is "battery" or "temperature" or "storage" or "uptime" or Location or "wifi-strength" || MetricType().IsMatch(type);

    /// <summary>Types whose samples carry one value (a metric may carry several; a gate reads its single value).</summary>
    public static bool IsSingleValued(string type) => type is "battery" or "temperature" or "uptime" or "wifi-strength" || MetricType().IsMatch(type);

    public static void Validate(IReadOnlyList<TelemetrySample?> samples, DateTimeOffset now, TimeSpan retention, ValidationErrors errors)
    {
        if (samples.Count is 0 or > MaxSamplesPerBatch) errors.Add("samples", $"Send 1 to {MaxSamplesPerBatch} samples per batch.");
        for (var i = 0; i < samples.Count; i++)
        {
            var at = $"samples[{i}]";
            if (samples[i] is not { } s) { errors.Add(at, "A sample is an object {type, timestamp, value | values}."); continue; }
            if (s.Timestamp is not { } t) errors.Add($"{at}.timestamp", "timestamp is required (RFC 3339).");
            else if (t > now + MaxFutureSkew) errors.Add($"{at}.timestamp", "timestamp is in the future.");
            else if (t < now - retention) errors.Add($"{at}.timestamp", $"timestamp is older than the {retention.TotalDays:0}-day retention.");
            if (s.Type is null || !IsKnownType(s.Type)) { errors.Add($"{at}.type", "type is battery, temperature, storage, uptime, location, wifi-strength or metric.<name>."); continue; }
            if (ShapeProblem(s) is { } problem) errors.Add(at, problem);
        }
    }

    private static string? ShapeProblem(TelemetrySample s)
    {
        bool In(double? v, double min, double max) => v is { } x && double.IsFinite(x) && x >= min && x <= max;
        double? V(string name) => s.Values?.GetValueOrDefault(name) is var v && s.Values?.ContainsKey(name) == true ? v : null;
        return s.Type switch
        {
            "battery" => In(s.Value, 0, 100) ? null : "battery takes a value from 0 to 100.",
            "temperature" => In(s.Value, -100, 200) ? null : "temperature takes a value from -100 to 200.",
            "uptime" => In(s.Value, 0, double.MaxValue) ? null : "uptime takes a value of 0 or more seconds.",
            "wifi-strength" => In(s.Value, -150, 0) ? null : "wifi-strength takes a value from -150 to 0 dBm.",
            "storage" => In(V("totalBytes"), 0, double.MaxValue) && In(V("usedBytes"), 0, V("totalBytes") ?? -1)
                ? null : "storage takes values usedBytes and totalBytes with usedBytes <= totalBytes.",
            Location => In(V("lat"), -90, 90) && In(V("lon"), -180, 180) && (s.Values!.ContainsKey("accuracy") == false || In(V("accuracy"), 0, double.MaxValue))
                ? null : "location takes values lat (-90..90) and lon (-180..180), optionally accuracy >= 0.",
            _ => (s.Value is { } v && double.IsFinite(v) && s.Values is null) || (s.Value is null && s.Values is { Count: > 0 and <= 20 } values && values.Values.All(double.IsFinite))
                ? null : "a metric takes one value or 1-20 numeric values.",
        };
    }
}
