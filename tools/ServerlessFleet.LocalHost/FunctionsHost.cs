using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;

namespace ServerlessFleet.LocalHost;

public sealed record LocalHostOptions(string AppDirectory, int Port, string? LocalSettings, RpcLog.Types.Level LogLevel);

/// <summary>
/// A stand-in for the Azure Functions host, for local runs and tests: launches the worker, loads its functions over
/// FunctionRpc, serves its HTTP functions, listens to its queues and fires its timers. It exits non-zero when the
/// worker dies or a function cannot be loaded or served.
/// </summary>
public sealed class FunctionsHost(LocalHostOptions options, HostLog log)
{
    private static readonly HashSet<string> Supported = new(StringComparer.OrdinalIgnoreCase) { "httpTrigger", "queueTrigger", "timerTrigger" };

    public async Task<int> RunAsync(CancellationToken stopping)
    {
        var appDirectory = Path.GetFullPath(options.AppDirectory);
        var settings = AppSettings.Load(options.LocalSettings);
        var host = HostSettings.Load(Path.Combine(appDirectory, "host.json"), settings);
        var channel = new WorkerChannel(log) { FunctionAppDirectory = appDirectory };

        await using var rpc = await StartRpcServerAsync(channel);
        var rpcEndpoint = new Uri(rpc.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        using var worker = WorkerProcess.Start(appDirectory, rpcEndpoint, settings, log);
        log.Host($"Started worker process {worker.Id} from {appDirectory}.");

        var exited = worker.Exited.ContinueWith(t => $"The worker process exited with code {t.Result}.", TaskScheduler.Default);
        var loading = channel.Loaded.Task;
        var first = await Task.WhenAny(loading, exited, Task.Delay(TimeSpan.FromSeconds(90), stopping));
        if (first != loading)
        {
            log.Host(first == exited ? await exited + " before its functions were loaded." : "The worker did not load its functions within 90 s.");
            return 1;
        }
        IReadOnlyList<LoadedFunction> functions;
        try { functions = await loading; }
        catch (HostStartupException e) { log.Host(e.Message); return 1; }
        if (functions.FirstOrDefault(f => !Supported.Contains(f.TriggerType)) is { } unsupported)
        {
            log.Host($"Function {unsupported.Name} has a {unsupported.TriggerType}, which this host does not run (supported: HTTP, queue, timer).");
            return 1;
        }

        using var triggers = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        List<Task> running;
        await using var http = await StartHttpAsync(channel, host, functions);
        try
        {
            running = functions.Where(f => f.TriggerType.Equals("queueTrigger", StringComparison.OrdinalIgnoreCase))
                .Select(f => QueueListener.Create(f, settings, host, channel, log).RunAsync(triggers.Token))
                .Concat(functions.Where(f => f.TriggerType.Equals("timerTrigger", StringComparison.OrdinalIgnoreCase))
                    .Select(f => TimerSchedule.Create(f, host, channel, log).RunAsync(triggers.Token)))
                .ToList();
        }
        catch (HostStartupException e) { log.Host(e.Message); return 1; }

        var address = http.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        log.Host($"Host started: {address} ({functions.Count} functions: {string.Join(", ", functions.Select(f => f.Name).Order(StringComparer.Ordinal))})");

        var failed = running.Select(t => t.ContinueWith(r => r.IsFaulted ? $"A trigger listener failed: {r.Exception!.GetBaseException().Message}" : null,
            TaskScheduler.Default)).ToList();
        var stopped = Task.Delay(Timeout.Infinite, stopping).ContinueWith(_ => (string?)null, TaskScheduler.Default);
        while (true)
        {
            var ended = await Task.WhenAny(failed.Append(exited!).Append(stopped));
            var reason = await ended;
            if (ended == stopped)
            {
                log.Host("Stopping.");
                await triggers.CancelAsync();
                return 0;
            }
            if (reason is null) { failed.Remove(ended); continue; }
            log.Host(reason);
            await triggers.CancelAsync();
            return 1;
        }
    }

    private static async Task<WebApplication> StartRpcServerAsync(WorkerChannel channel)
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
        var app = builder.Build();
        app.MapGrpcService<WorkerChannel>();
        await app.StartAsync();
        return app;
    }

    private async Task<WebApplication> StartHttpAsync(WorkerChannel channel, HostSettings host, IReadOnlyList<LoadedFunction> functions)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // A dead worker must not keep the host waiting on requests that can no longer complete.
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, options.Port));
        var app = builder.Build();
        var httpFunctions = functions.Where(f => f.TriggerType.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase)).ToList();
        if (httpFunctions.Count > 0)
        {
            if (!channel.Capabilities.TryGetValue("HttpUri", out var workerUri))
                throw new HostStartupException("The worker has HTTP functions but no HTTP server (ASP.NET Core integration); this host only proxies to one.");
            // The worker listens on localhost; loopback by address avoids a name lookup per request.
            var uri = new UriBuilder(workerUri) { Host = "127.0.0.1" }.Uri;
            new HttpTriggers(channel, host, log).Map(app, httpFunctions, uri);
        }
        await app.StartAsync();
        return app;
    }
}
