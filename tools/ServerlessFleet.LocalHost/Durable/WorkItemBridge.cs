using System.Text.Json;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Middleware;
using Google.Protobuf;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;
using P = Microsoft.DurableTask.Protobuf;

namespace ServerlessFleet.LocalHost.Durable;

/// <summary>
/// The engine's dispatch middleware that hands work items to the worker, as the Durable extension does for
/// out-of-process workers: an orchestrator work item becomes an invocation of the orchestrator function with a
/// base64 <c>OrchestratorRequest</c> and its base64 <c>OrchestratorResponse</c> becomes the engine's actions; an
/// activity work item becomes an invocation of the activity function, its return value the task's result. An
/// invocation the worker never answered (it died, or timed out) aborts the work item, which the engine retries.
/// </summary>
public sealed class WorkItemBridge(IReadOnlyDictionary<string, LoadedFunction> orchestrators, IReadOnlyDictionary<string, LoadedFunction> activities,
    IFunctionInvoker worker, TimeSpan timeout, HostLog log)
{
    private static readonly IReadOnlyDictionary<string, TypedData> NoMetadata = new Dictionary<string, TypedData>();
    private static readonly TimeSpan SlowInvocation = TimeSpan.FromSeconds(30);
    private long _orchestratorSteps;
    private long _activities;

    /// <summary>Orchestrator work items (each one replay step of one instance) and activity executions handed to the worker.</summary>
    public (long OrchestratorSteps, long Activities) Counts => (Interlocked.Read(ref _orchestratorSteps), Interlocked.Read(ref _activities));

    public async Task RunOrchestratorAsync(DispatchMiddlewareContext context, Func<Task> next)
    {
        var state = context.GetProperty<OrchestrationRuntimeState>();
        if (!orchestrators.TryGetValue(state.Name, out var function))
        {
            context.SetProperty(OrchestratorExecutionResult.ForFailure($"No orchestrator function is named '{state.Name}'.", details: null));
            return;
        }
        Interlocked.Increment(ref _orchestratorSteps);
        var request = new P.OrchestratorRequest { InstanceId = state.OrchestrationInstance?.InstanceId ?? "", ExecutionId = state.OrchestrationInstance?.ExecutionId };
        request.PastEvents.AddRange(state.PastEvents.Select(HistoryProtobuf.ToProto));
        request.NewEvents.AddRange(state.NewEvents.Select(HistoryProtobuf.ToProto));

        var response = await InvokeAsync(function, new TypedData { String = Convert.ToBase64String(request.ToByteArray()) }, request.InstanceId);
        if (response.Result.Status != StatusResult.Types.Status.Success || response.ReturnValue?.String is not { Length: > 0 } encoded)
        {
            context.SetProperty(OrchestratorExecutionResult.ForFailure(
                $"Orchestrator function '{function.Name}' failed: {response.Result.Exception?.Message ?? "it returned no response"}", response.Result.Exception?.StackTrace));
            return;
        }
        var result = P.OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded));
        context.SetProperty(new OrchestratorExecutionResult { Actions = result.Actions.Select(HistoryProtobuf.ToAction).ToList(), CustomStatus = result.CustomStatus });
    }

    public async Task RunActivityAsync(DispatchMiddlewareContext context, Func<Task> next)
    {
        var scheduled = context.GetProperty<TaskScheduledEvent>();
        var instance = context.GetProperty<OrchestrationInstance>();
        if (!activities.TryGetValue(scheduled.Name ?? "", out var function))
        {
            context.SetProperty(new ActivityExecutionResult { ResponseEvent = Failed(scheduled, new FailureDetails("ActivityNotFound", $"No activity function is named '{scheduled.Name}'.", null, null, isNonRetriable: true)) });
            return;
        }
        Interlocked.Increment(ref _activities);
        var response = await InvokeAsync(function, new TypedData { String = Unwrap(scheduled.Input) }, instance?.InstanceId);
        context.SetProperty(new ActivityExecutionResult
        {
            ResponseEvent = response.Result.Status == StatusResult.Types.Status.Success
                ? new TaskCompletedEvent(-1, scheduled.EventId, Serialized(response.ReturnValue))
                : Failed(scheduled, new FailureDetails(response.Result.Exception?.Source ?? "Exception",
                    response.Result.Exception?.Message ?? $"Activity '{scheduled.Name}' failed.", response.Result.Exception?.StackTrace, null, isNonRetriable: false)),
        });
    }

    private async Task<InvocationResponse> InvokeAsync(LoadedFunction function, TypedData trigger, string? instanceId)
    {
        try
        {
            var call = worker.InvokeAsync(function, trigger, NoMetadata, timeout);
            if (await Task.WhenAny(call, Task.Delay(SlowInvocation)) != call)
                log.Host($"{function.Name} ({instanceId}) has not answered in {SlowInvocation.TotalSeconds} s; its work item stays locked until it does.");
            return await call;
        }
        catch (Exception e) when (e is TimeoutException or WorkerGoneException)
        {
            log.Host($"{function.Name} ({instanceId}) was not answered: {e.Message}; the work item goes back to the task hub.");
            throw new SessionAbortedException(e.Message);
        }
    }

    private static TaskFailedEvent Failed(TaskScheduledEvent scheduled, FailureDetails failure) =>
        new(-1, scheduled.EventId, failure.ErrorMessage, failure.StackTrace, failure);

    /// <summary>The orchestrator sends an activity's input as a one-element JSON array; the activity binds the element.</summary>
    private static string Unwrap(string? input)
    {
        if (string.IsNullOrEmpty(input)) return "null";
        using var document = JsonDocument.Parse(input);
        return document.RootElement is { ValueKind: JsonValueKind.Array } array && array.GetArrayLength() == 1 ? array[0].GetRawText() : input;
    }

    /// <summary>The task result is JSON: a JSON return value as is, a string quoted, numbers as numbers.</summary>
    private static string? Serialized(TypedData? value) => value?.DataCase switch
    {
        null or TypedData.DataOneofCase.None => null,
        TypedData.DataOneofCase.Json => value.Json,
        TypedData.DataOneofCase.String => JsonSerializer.Serialize(value.String),
        TypedData.DataOneofCase.Int => JsonSerializer.Serialize(value.Int),
        TypedData.DataOneofCase.Double => JsonSerializer.Serialize(value.Double),
        _ => throw new NotSupportedException($"An activity returned {value.DataCase}, which has no JSON form."),
    };
}
