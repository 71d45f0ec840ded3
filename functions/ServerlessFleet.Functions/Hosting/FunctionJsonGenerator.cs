using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>Writes the Functions host's view of the app: one <c>{Name}/function.json</c> per function.</summary>
public static class FunctionJsonGenerator
{
    public const string ConnectionSetting = "AzureWebJobsStorage";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static JsonObject Generate(FunctionDefinition function)
    {
        var trigger = new JsonObject { ["name"] = function.BindingName, ["direction"] = "in" };
        var bindings = new JsonArray();
        switch (function.Kind)
        {
            case TriggerKind.Http:
                trigger["type"] = "httpTrigger";
                // Authentication is the app's own middleware; the host lets every request through to it.
                trigger["authLevel"] = "anonymous";
                if (function.Methods is { Count: > 0 } methods) trigger["methods"] = new JsonArray(methods.Select(m => (JsonNode)m).ToArray());
                trigger["route"] = function.Route;
                bindings.Add(trigger);
                bindings.Add(new JsonObject { ["type"] = "http", ["direction"] = "out", ["name"] = "res" });
                break;
            case TriggerKind.Queue:
                trigger["type"] = "queueTrigger";
                trigger["queueName"] = function.QueueName;
                trigger["connection"] = ConnectionSetting;
                bindings.Add(trigger);
                break;
            case TriggerKind.Timer:
                trigger["type"] = "timerTrigger";
                trigger["schedule"] = function.Schedule;
                trigger["runOnStartup"] = false;
                trigger["useMonitor"] = true;
                bindings.Add(trigger);
                break;
        }
        return new JsonObject { ["bindings"] = bindings };
    }

    public static IReadOnlyList<string> WriteAll(IEnumerable<FunctionDefinition> functions, string functionAppRoot)
    {
        var written = new List<string>();
        foreach (var function in functions)
        {
            var folder = Path.Combine(functionAppRoot, function.Name);
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, "function.json");
            File.WriteAllText(path, Generate(function).ToJsonString(Indented) + Environment.NewLine);
            written.Add(path);
        }
        return written;
    }

    /// <summary>Reads a function.json back into the definition it describes (the dispatcher and the sync test use this).</summary>
    public static FunctionDefinition Parse(string name, JsonObject functionJson)
    {
        var trigger = functionJson["bindings"]!.AsArray().OfType<JsonObject>()
            .Single(b => b["direction"]?.GetValue<string>() == "in" && b["type"]!.GetValue<string>().EndsWith("Trigger", StringComparison.Ordinal));
        return trigger["type"]!.GetValue<string>() switch
        {
            "httpTrigger" => new FunctionDefinition(name, TriggerKind.Http, trigger["route"]?.GetValue<string>(),
                trigger["methods"]?.AsArray().Select(m => m!.GetValue<string>()).ToList() ?? []),
            "queueTrigger" => new FunctionDefinition(name, TriggerKind.Queue, QueueName: trigger["queueName"]!.GetValue<string>()),
            "timerTrigger" => new FunctionDefinition(name, TriggerKind.Timer, Schedule: trigger["schedule"]!.GetValue<string>()),
            var other => throw new InvalidOperationException($"Unsupported trigger type '{other}' in {name}/function.json."),
        };
    }
}
