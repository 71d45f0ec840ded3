namespace ServerlessFleet.Functions.Hosting;

public enum TriggerKind { Http, Queue, Timer }

/// <summary>One Azure Function as the host sees it; the single source of each generated function.json.</summary>
public sealed record FunctionDefinition(
    string Name,
    TriggerKind Kind,
    string? Route = null,
    IReadOnlyList<string>? Methods = null,
    string? QueueName = null,
    string? Schedule = null)
{
    public string BindingName => Kind switch
    {
        TriggerKind.Queue => "message",
        TriggerKind.Timer => "timer",
        _ => "req",
    };
}

/// <summary>Marks the endpoint that receives a queue or timer invocation at <c>POST /{FunctionName}</c>.</summary>
public sealed record TriggerFunctionMetadata(FunctionDefinition Function);
