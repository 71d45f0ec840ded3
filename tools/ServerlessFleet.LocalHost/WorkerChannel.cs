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
/// one FunctionLoadRequest per function), invocations correlated by id, and the worker's logs. A worker started again
/// after a crash opens a new stream and loads the same functions under the same ids; invocations wait for it.
/// </summary>
public sealed class WorkerChannel(HostLog log) : FunctionRpc.FunctionRpcBase, IFunctionInvoker
{
    private Channel<StreamingMessage> _outbound = Channel.CreateUnbounded<StreamingMessage>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResponse>> _pending = new();
    private readonly List<LoadedFunction> _functions = [];
    private int _awaitingLoad;
    private TaskCompletionSource<IReadOnlyList<LoadedFunction>> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The current worker's functions, once it has loaded all of them.</summary>
    public Task<IReadOnlyList<LoadedFunction>> Loaded => Volatile.Read(ref _ready).Task;
    public IReadOnlyDictionary<string, string> Capabilities { get; private set; } = new Dictionary<string, string>();
    public string FunctionAppDirectory { get; set; } = "";
    /// <summary>The value of an input binding (by its binding JSON), which the host resolves for every invocation.</summary>
    public Func<JsonObject, TypedData>? InputBindings { get; set; }

    private (Task Worker, Task<Uri> Listening)? _http;
    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);
    /// <summary>Invocations carry no trace of the caller's; one empty context serves them all, as it is only ever read.</summary>
    private static readonly RpcTraceContext NoTraceContext = new();

    /// <summary>
    /// The worker's HTTP server (ASP.NET Core integration), once the current worker is loaded and its server takes
    /// connections: a worker reports the address before it listens there.
    /// </summary>
    public async Task<Uri> WorkerHttpUriAsync(TimeSpan wait)
    {
        var worker = Loaded;
        await worker.WaitAsync(wait);
        var http = _http is { } known && known.Worker == worker ? known.Listening : null;
        if (http is null)
        {
            // The worker listens on localhost; loopback by address avoids a name lookup per request.
            http = ListeningAsync(new UriBuilder(Capabilities["HttpUri"]) { Host = "127.0.0.1" }.Uri, worker);
            _http = (worker, http);
        }
        return await http.WaitAsync(wait);
    }

    /// <summary>Probes until the worker's server takes a connection, for as long as that worker is the current one.</summary>
    private async Task<Uri> ListeningAsync(Uri uri, Task worker)
    {
        for (var delay = 10; ; delay = Math.Min(delay * 2, 200))
        {
            if (Loaded != worker) throw new WorkerGoneException("The worker exited before its HTTP server listened.");
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(uri.Host, uri.Port);
                return uri;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(delay);
            }
        }
    }

    public override async Task EventStream(IAsyncStreamReader<StreamingMessage> requests, IServerStreamWriter<StreamingMessage> responses, ServerCallContext context)
    {
        var outbound = Channel.CreateUnbounded<StreamingMessage>();
        Volatile.Write(ref _outbound, outbound);
        var writer = Task.Run(async () =>
        {
            // A message with more queued behind it is only buffered: the last of a burst flushes them together, in
            // one write to the socket instead of one per invocation.
            await foreach (var message in outbound.Reader.ReadAllAsync(context.CancellationToken))
            {
                responses.WriteOptions = outbound.Reader.Count > 0 ? BufferedWrite : null;
                await responses.WriteAsync(message);
            }
        });
        try
        {
            await foreach (var message in requests.ReadAllAsync(context.CancellationToken))
                Receive(message);
        }
        finally
        {
            // Until the next worker has loaded, invocations wait; those in flight on this one fail.
            if (Loaded.IsCompleted) Volatile.Write(ref _ready, new TaskCompletionSource<IReadOnlyList<LoadedFunction>>(TaskCreationOptions.RunContinuationsAsynchronously));
            foreach (var pending in _pending.Values) pending.TrySetException(new WorkerGoneException("The worker closed its event stream."));
            outbound.Writer.TryComplete();
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
                    _ready.TrySetException(new HostStartupException($"The worker failed to initialise: {message.WorkerInitResponse.Result.Exception?.Message}"));
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
                    _ready.TrySetException(new HostStartupException($"Function {Name(loaded.FunctionId)} failed to load: {loaded.Result.Exception?.Message}"));
                else if (Interlocked.Decrement(ref _awaitingLoad) == 0)
                    _ready.TrySetResult(_functions);
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
            _ready.TrySetException(new HostStartupException(response.UseDefaultMetadataIndexing
                ? "The worker asks for host-side function indexing, which this host does not do (set workerIndexing)."
                : $"The worker could not index its functions: {response.Result.Exception?.Message}"));
            return;
        }
        var reloading = _functions.Count > 0;
        foreach (var metadata in response.FunctionMetadataResults)
        {
            // A worker started again loads its functions under the ids the triggers already hold.
            var known = _functions.FirstOrDefault(f => f.Name == metadata.Name);
            if (reloading && known is null)
            {
                _ready.TrySetException(new HostStartupException($"The restarted worker reports a function the first one did not: {metadata.Name}."));
                return;
            }
            if (known is not null) metadata.FunctionId = known.FunctionId;
            else if (string.IsNullOrEmpty(metadata.FunctionId)) metadata.FunctionId = Guid.NewGuid().ToString();
            if (reloading) continue;
            var bindings = metadata.RawBindings.Select(b => JsonNode.Parse(b)!.AsObject()).ToList();
            var trigger = bindings.FirstOrDefault(b => b["type"]?.GetValue<string>()?.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase) == true)
                ?? throw new HostStartupException($"Function {metadata.Name} has no trigger binding.");
            var inputs = bindings.Where(b => b != trigger && string.Equals(b["direction"]?.GetValue<string>(), "in", StringComparison.OrdinalIgnoreCase)).ToList();
            _functions.Add(new LoadedFunction(metadata.Name, metadata.FunctionId, trigger, trigger["name"]!.GetValue<string>(), inputs));
        }
        _awaitingLoad = response.FunctionMetadataResults.Count;
        if (_awaitingLoad == 0) _ready.TrySetException(new HostStartupException("The worker reported no functions."));
        foreach (var metadata in response.FunctionMetadataResults)
            Send(new StreamingMessage { FunctionLoadRequest = new FunctionLoadRequest { FunctionId = metadata.FunctionId, Metadata = metadata } });
    }

    private string Name(string functionId) => _functions.FirstOrDefault(f => f.FunctionId == functionId)?.Name ?? functionId;

    public async Task<InvocationResponse> InvokeAsync(LoadedFunction function, TypedData trigger, IReadOnlyDictionary<string, TypedData> metadata,
        TimeSpan timeout, string? invocationId = null)
    {
        var request = new InvocationRequest { InvocationId = invocationId ?? Guid.NewGuid().ToString(), FunctionId = function.FunctionId, TraceContext = NoTraceContext };
        request.InputData.Add(new ParameterBinding { Name = function.TriggerName, Data = trigger });
        foreach (var input in function.Inputs)
            request.InputData.Add(new ParameterBinding { Name = input["name"]!.GetValue<string>(), Data = InputBindings!(input) });
        foreach (var (key, value) in metadata) request.TriggerMetadata[key] = value;
        var completion = new TaskCompletionSource<InvocationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            // A worker being started again is waited for, within the invocation's own time.
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var worker = Loaded;
            await worker.WaitAsync(timeout);
            _pending[request.InvocationId] = completion;
            // The worker went between its load and this: nothing will answer on its stream.
            if (Loaded != worker) throw new WorkerGoneException("The worker closed its event stream.");
            Send(new StreamingMessage { InvocationRequest = request });
            var left = timeout - System.Diagnostics.Stopwatch.GetElapsedTime(started);
            return await completion.Task.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
        finally
        {
            _pending.TryRemove(request.InvocationId, out _);
        }
    }

    private void Send(StreamingMessage message)
    {
        if (string.IsNullOrEmpty(message.RequestId)) message.RequestId = Guid.NewGuid().ToString();
        Volatile.Read(ref _outbound).Writer.TryWrite(message);
    }
}

/// <summary>The worker process is gone; every invocation in flight fails with this.</summary>
public sealed class WorkerGoneException(string message) : Exception(message);
