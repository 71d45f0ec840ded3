using System.Collections;
using System.Text.Json.Nodes;

namespace ServerlessFleet.LocalHost;

/// <summary>
/// The app settings the worker runs with, as <c>func start</c> builds them: the <c>Values</c> of local.settings.json
/// (when present), overridden by the host's own environment.
/// </summary>
public static class AppSettings
{
    public static Dictionary<string, string> Load(string? localSettingsPath)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (localSettingsPath is not null && File.Exists(localSettingsPath)
            && JsonNode.Parse(File.ReadAllText(localSettingsPath))?["Values"] is JsonObject values)
        {
            foreach (var (key, value) in values)
                if (value is not null) settings[key] = value.ToString();
        }
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
            settings[(string)entry.Key] = (string?)entry.Value ?? "";
        return settings;
    }

    /// <summary>The connection string a binding names (<c>AzureWebJobsStorage</c> when it names none), as the host resolves it.</summary>
    public static string Connection(IReadOnlyDictionary<string, string> settings, string? name)
    {
        var key = string.IsNullOrEmpty(name) ? "AzureWebJobsStorage" : name;
        if (settings.TryGetValue(key, out var value) && value.Length > 0) return value;
        if (settings.TryGetValue("AzureWebJobs" + key, out value) && value.Length > 0) return value;
        throw new HostStartupException($"The connection setting '{key}' is not set.");
    }
}

/// <summary>A reason the host refuses to start; printed as is, exit code 1.</summary>
public sealed class HostStartupException(string message) : Exception(message);
