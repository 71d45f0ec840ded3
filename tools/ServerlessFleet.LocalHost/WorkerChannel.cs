using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;

namespace ServerlessFleet.LocalHost;

/// <summary>A function the worker reported and loaded, with its trigger and input bindings as raw JSON.</summary>
public sealed record LoadedFunction(string Name, string FunctionId, JsonObject Trigger, string TriggerName, IReadOnlyList<JsonObject> Inputs)
{
    public string TriggerType => Trigger["type"]?.GetValue<string>() ?? "";

    public static string BindingType(JsonObject binding) => binding["type"]?.GetValue<string>() ?? "";
}

/// <summary>Runs one invocation of a function in the worker and answers with the worker's response.</summary>
public interface IFunctionInvoker
{
    Task<InvocationResponse> InvokeAsync(LoadedFunction function, TypedData trigger, IReadOnlyDictionary<string, TypedData> metadata,
        TimeSpan timeout, string? invocationId = null);
}

/// <summary>
/// The host's side of the FunctionRpc event stream: the handshake (StartStream → WorkerInitRequest → metadata →
/// one FunctionLoadRequest per function), invocations correlated by id, and the worker's logs.
/// </summary>
public sealed class WorkerChannel(HostLog log) : FunctionRpc.FunctionRpcBase, IFunctionInvoker
{
    private readonly Channel<StreamingMessage> _outbound = Channel.CreateUnbounded<StreamingMessage>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResponse>> _pending = new();
    private readonly List<LoadedFunction> _functions = [];
    private int _awaitingLoad;

    public TaskCompletionSource<IReadOnlyList<LoadedFunction>> Loaded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public IReadOnlyDictionary<string, string> Capabilities { get; private set; } = new Dictionary<string, string>();
    public string FunctionAppDirectory { get; set; } = "";
    /// <summary>The value of an input binding (by its binding JSON), which the host resolves for every invocation.</summary>
    public Func<JsonObject, TypedData>? InputBindings { get; set; }

    public override async Task EventStream(IAsyncStreamReader<StreamingMessage> requests, IServerStreamWriter<StreamingMessage> responses, ServerCallContext context)
    {
        var writer = Task.Run(async () =>
        {
            await foreach (var message in _outbound.Reader.ReadAllAsync(context.CancellationToken))
                await responses.WriteAsync(message);
        });
        try
        {
            await foreach (var message in requests.ReadAllAsync(context.CancellationToken))
                Receive(message);
        }
        finally
        {
            foreach (var pending in _pending.Values) pending.TrySetException(new WorkerGoneException("The worker closed its event stream."));
        }
        await writer.WaitAsync(TimeSpan.FromSeconds(1)).ContinueWith(_ => { });
    }

    private void Receive(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.StartStream:
                var init = new WorkerInitRequest { HostVersion = "4.1000.0", FunctionAppDirectory = FunctionAppDirectory, WorkerDirectory = FunctionAppDirectory };
                init.Capabilities["HttpUri"] = "true";
                Send(new StreamingMessage { WorkerInitRequest = init });
                break;
            case StreamingMessage.ContentOneofCase.WorkerInitResponse:
                if (message.WorkerInitResponse.Result.Status != StatusResult.Types.Status.Success)
                {
                    Loaded.TrySetException(new HostStartupException($"The worker failed to initialise: {message.WorkerInitResponse.Result.Exception?.Message}"));
                    break;
                }
                Capabilities = message.WorkerInitResponse.Capabilities.ToDictionary();
                Send(new StreamingMessage { FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = FunctionAppDirectory } });
                break;
            case StreamingMessage.ContentOneofCase.FunctionMetadataResponse:
                LoadAll(message.FunctionMetadataResponse);
                break;
            case StreamingMessage.ContentOneofCase.FunctionLoadResponse:
                var loaded = message.FunctionLoadResponse;
                if (loaded.Result.Status != StatusResult.Types.Status.Success)
                    Loaded.TrySetException(new HostStartupException($"Function {Name(loaded.FunctionId)} failed to load: {loaded.Result.Exception?.Message}"));
                else if (Interlocked.Decrement(ref _awaitingLoad) == 0)
                    Loaded.TrySetResult(_functions);
                break;
            case StreamingMessage.ContentOneofCase.InvocationResponse:
                if (_pending.TryRemove(message.InvocationResponse.InvocationId, out var completion)) completion.TrySetResult(message.InvocationResponse);
                break;
            case StreamingMessage.ContentOneofCase.RpcLog:
                log.Worker(message.RpcLog);
                break;
        }
    }

    private void LoadAll(FunctionMetadataResponse response)
    {
        if (response.Result.Status != StatusResult.Types.Status.Success || response.UseDefaultMetadataIndexing)
        {
            Loaded.TrySetException(new HostStartupException(response.UseDefaultMetadataIndexing
                ? "The worker asks for host-side function indexing, which this host does not do (set workerIndexing)."
                : $"The worker could not index its functions: {response.Result.Exception?.Message}"));
            return;
        }
        foreach (var metadata in response.FunctionMetadataResults)
        {
            if (string.IsNullOrEmpty(metadata.FunctionId)) metadata.FunctionId = Guid.NewGuid().ToString();
            var bindings = metadata.RawBindings.Select(b => JsonNode.Parse(b)!.AsObject()).ToList();
            var trigger = bindings.FirstOrDefault(b => b["type"]?.GetValue<string>()?.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase) == true)
                ?? throw new HostStartupException($"Function {metadata.Name} has no trigger binding.");
            var inputs = bindings.Where(b => b != trigger && string.Equals(b["direction"]?.GetValue<string>(), "in", StringComparison.OrdinalIgnoreCase)).ToList();
            _functions.Add(new LoadedFunction(metadata.Name, metadata.FunctionId, trigger, trigger["name"]!.GetValue<string>(), inputs));
        }
        _awaitingLoad = _functions.Count;
        if (_awaitingLoad == 0) Loaded.TrySetException(new HostStartupException("The worker reported no functions."));
        foreach (var metadata in response.FunctionMetadataResults)
            Send(new StreamingMessage { FunctionLoadRequest = new FunctionLoadRequest { FunctionId = metadata.FunctionId, Metadata = metadata } });
    }

    private string Name(string functionId) => _functions.FirstOrDefault(f => f.FunctionId == functionId)?.Name ?? functionId;

    public async Task<InvocationResponse> InvokeAsync(LoadedFunction function, TypedData trigger, IReadOnlyDictionary<string, TypedData> metadata,
        TimeSpan timeout, string? invocationId = null)
    {
        var request = new InvocationRequest { InvocationId = invocationId ?? Guid.NewGuid().ToString(), FunctionId = function.FunctionId, TraceContext = new RpcTraceContext() };
        request.InputData.Add(new ParameterBinding { Name = function.TriggerName, Data = trigger });
        foreach (var input in function.Inputs)
            request.InputData.Add(new ParameterBinding { Name = input["name"]!.GetValue<string>(), Data = InputBindings!(input) });
        foreach (var (key, value) in metadata) request.TriggerMetadata[key] = value;
        var completion = new TaskCompletionSource<InvocationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[request.InvocationId] = completion;
        try
        {
            Send(new StreamingMessage { InvocationRequest = request });
            return await completion.Task.WaitAsync(timeout);
        }
        finally
        {
            _pending.TryRemove(request.InvocationId, out _);
        }
    }

    private void Send(StreamingMessage message)
    {
        if (string.IsNullOrEmpty(message.RequestId)) message.RequestId = Guid.NewGuid().ToString();
        _outbound.Writer.TryWrite(message);
    }
}

/// <summary>The worker process is gone; every invocation in flight fails with this.</summary>
public sealed class WorkerGoneException(string message) : Exception(message);
