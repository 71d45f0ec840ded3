using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>The custom-handler request for a non-HTTP trigger: <c>Data</c> keyed by binding name, trigger <c>Metadata</c>.</summary>
public sealed record InvocationRequest(JsonObject? Data, JsonObject? Metadata);

/// <summary>The custom-handler response; <c>Logs</c> are written to the host's log by the Functions host.</summary>
public sealed record InvocationResponse(JsonObject Outputs, IReadOnlyList<string> Logs, JsonNode? ReturnValue)
{
    public static InvocationResponse Succeeded() => new([], [], null);
    public static InvocationResponse Failed(string log) => new([], [log], null);
}

public static class InvocationJson
{
    // The host speaks PascalCase in these payloads.
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = null, PropertyNameCaseInsensitive = true };
}

/// <summary>A queue message as a queue-triggered function receives it.</summary>
public sealed record QueueInvocation(string MessageText, string MessageId, long DequeueCount, DateTimeOffset? InsertionTime)
{
    public static QueueInvocation From(InvocationRequest request, string bindingName)
    {
        var data = request.Data?[bindingName] ?? throw new InvalidOperationException($"The invocation has no '{bindingName}' data.");
        // The host passes the message as a JSON string; a JSON-shaped message may arrive as an object.
        var text = data is JsonValue value && value.TryGetValue<string>(out var s) ? s : data.ToJsonString();
        var metadata = request.Metadata ?? [];
        return new QueueInvocation(
            text,
            metadata["Id"]?.GetValue<string>() ?? "",
            metadata["DequeueCount"]?.GetValue<long>() ?? 1,
            metadata["InsertionTime"] is { } inserted ? inserted.GetValue<DateTimeOffset>() : null);
    }
}

/// <summary>A timer firing as a timer-triggered function receives it.</summary>
public sealed record TimerInvocation(bool IsPastDue, DateTimeOffset? Last, DateTimeOffset? Next)
{
    public static TimerInvocation From(InvocationRequest request, string bindingName)
    {
        var timer = request.Data?[bindingName] as JsonObject;
        var status = timer?["ScheduleStatus"] as JsonObject;
        return new TimerInvocation(
            timer?["IsPastDue"]?.GetValue<bool>() ?? false,
            status?["Last"] is { } last ? last.GetValue<DateTimeOffset>() : null,
            status?["Next"] is { } next ? next.GetValue<DateTimeOffset>() : null);
    }
}
