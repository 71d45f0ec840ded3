using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;
using ServerlessFleet.LocalHost.Durable;

namespace ServerlessFleet.LocalHost;

public sealed record LocalHostOptions(string AppDirectory, int Port, string? LocalSettings, RpcLog.Types.Level LogLevel);

/// <summary>
/// A stand-in for the Azure Functions host, for local runs and tests: launches the worker, loads its functions over
/// FunctionRpc, serves its HTTP functions, listens to its queues, fires its timers and runs its orchestrations and
/// activities on the Durable Task engine (Azure Storage task hub). A worker that dies is started again
/// (<see cref="WorkerSupervisor"/>); the host exits non-zero when it keeps dying or a function cannot be loaded or served.
/// </summary>
public sealed class FunctionsHost(LocalHostOptions options, HostLog log)
{
    private static readonly HashSet<string> Supported = new(StringComparer.OrdinalIgnoreCase)
    {
        "httpTrigger", "queueTrigger", "timerTrigger", "orchestrationTrigger", "activityTrigger",
    };
    private const string DurableClient = "durableClient";

    public async Task<int> RunAsync(CancellationToken stopping)
    {
        var appDirectory = Path.GetFullPath(options.AppDirectory);
        var settings = AppSettings.Load(options.LocalSettings);
        var host = HostSettings.Load(Path.Combine(appDirectory, "host.json"), settings);
        var channel = new WorkerChannel(log) { FunctionAppDirectory = appDirectory };

        var backend = new DurableBackend();
        await using var rpc = await StartRpcServerAsync(channel, backend);
        var rpcEndpoint = new Uri(rpc.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        using var workers = new WorkerSupervisor(appDirectory, rpcEndpoint, settings, log);
        workers.Start();

        var exited = workers.Current.Exited.ContinueWith(t => $"The worker process exited with code {t.Result}.", TaskScheduler.Default);
        var loading = channel.Loaded;
        var first = await Task.WhenAny(loading, exited, Task.Delay(TimeSpan.FromSeconds(90), stopping));
        if (first != loading)
            throw new HostStartupException(first == exited ? $"{await exited} Its functions were never loaded." : "The worker did not load its functions within 90 s.");
        var functions = await loading;
        if (functions.FirstOrDefault(f => !Supported.Contains(f.TriggerType)) is { } unsupported)
            throw new HostStartupException($"Function {unsupported.Name} has a {unsupported.TriggerType}, which this host does not run (supported: {string.Join(", ", Supported)}).");
        if (functions.SelectMany(f => f.Inputs.Select(i => (f.Name, Type: LoadedFunction.BindingType(i)))).FirstOrDefault(i => i.Type != DurableClient) is { Name: not null } input)
            throw new HostStartupException($"Function {input.Name} has a {input.Type} input binding, which this host does not resolve (supported: {DurableClient}).");

        await using var durable = await StartDurableAsync(functions, settings, host, channel, backend, rpcEndpoint);

        using var triggers = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        await using var http = await StartHttpAsync(channel, host, functions);
        var running = functions.Where(f => f.TriggerType.Equals("queueTrigger", StringComparison.OrdinalIgnoreCase))
            .Select(f => QueueListener.Create(f, settings, host, channel, log).RunAsync(triggers.Token))
            .Concat(functions.Where(f => f.TriggerType.Equals("timerTrigger", StringComparison.OrdinalIgnoreCase))
                .Select(f => TimerSchedule.Create(f, host, channel, log).RunAsync(triggers.Token)))
            .ToList();

        var address = http.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        log.Host($"Host started: {address} ({functions.Count} functions: {string.Join(", ", functions.Select(f => f.Name).Order(StringComparer.Ordinal))})");
        if (host.MaxConcurrentRequests > 0 || host.MaxOutstandingRequests > 0)
            log.Host($"HTTP requests: at most {Limit(host.MaxConcurrentRequests)} at once, {Limit(host.MaxOutstandingRequests)} running and waiting (host.json extensions.http).");

        // The host runs until it is stopped, the worker keeps dying, or a trigger listener fails.
        var failure = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = workers.SuperviseAsync(triggers.Token).ContinueWith(t => failure.TrySetResult(t.IsCompletedSuccessfully ? t.Result : "Stopping."), TaskScheduler.Default);
        foreach (var listener in running)
            _ = listener.ContinueWith(t => failure.TrySetResult($"A trigger listener failed: {t.Exception!.GetBaseException().Message}"),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        try
        {
            log.Host(await failure.Task.WaitAsync(stopping));
            return 1;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            log.Host("Stopping.");
            return 0;
        }
        finally
        {
            await triggers.CancelAsync();
        }
    }

    /// <summary>The Durable Task engine, when the app has orchestrations, activities or durable clients.</summary>
    private async Task<DurableEngine?> StartDurableAsync(IReadOnlyList<LoadedFunction> functions, IReadOnlyDictionary<string, string> settings,
        HostSettings host, WorkerChannel channel, DurableBackend backend, Uri rpcEndpoint)
    {
        var durable = functions.Any(f => f.TriggerType is "orchestrationTrigger" or "activityTrigger"
            || f.Inputs.Any(i => LoadedFunction.BindingType(i) == DurableClient));
        if (!durable) return null;
        var engine = await DurableEngine.StartAsync(host.Durable, AppSettings.Connection(settings, host.Durable.ConnectionName), functions, channel,
            host.FunctionTimeout, rpcEndpoint, log);
        backend.Started(engine.Service);
        var binding = new TypedData { String = engine.ClientBinding };
        channel.InputBindings = _ => binding;
        return engine;
    }

    private static async Task<WebApplication> StartRpcServerAsync(WorkerChannel channel, DurableBackend backend)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // A dead worker must not keep the host waiting on requests that can no longer complete.
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = int.MaxValue;
            o.MaxSendMessageSize = int.MaxValue;
        });
        builder.Services.AddSingleton(channel);
        builder.Services.AddSingleton(backend);
        var app = builder.Build();
        app.MapGrpcService<WorkerChannel>();
        // The task-hub sidecar shares the worker's gRPC endpoint, as the Functions host's Durable extension serves its own.
        app.MapGrpcService<TaskHubSidecar>();
        await app.StartAsync();
        return app;
    }

    private async Task<WebApplication> StartHttpAsync(WorkerChannel channel, HostSettings host, IReadOnlyList<LoadedFunction> functions)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // A dead worker must not keep the host waiting on requests that can no longer complete.
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port, listen => listen.Use(next => connection => new RequestLineGuard().OnConnectionAsync(connection, next)));
            // The host's own body limit (100 MB) applies before the worker's; the worker enforces its own.
            k.Limits.MaxRequestBodySize = 100L * 1024 * 1024;
        });
        var app = builder.Build();
        var httpFunctions = functions.Where(f => f.TriggerType.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase)).ToList();
        if (httpFunctions.Count > 0)
        {
            if (!channel.Capabilities.ContainsKey("HttpUri"))
                throw new HostStartupException("The worker has HTTP functions but no HTTP server (ASP.NET Core integration); this host only proxies to one.");
            new HttpTriggers(channel, host, log).Map(app, httpFunctions, channel.WorkerHttpUriAsync);
        }
        await app.StartAsync();
        return app;
    }

    private static string Limit(int value) => value > 0 ? value.ToString() : "unbounded";
}
