using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Queues.Models;
using Cronos;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// Stands in for the Functions host outside of it: reads the queue and timer triggers from the generated
/// function.json documents, polls those queues and fires those schedules, and posts the host's own
/// invocation payload to <c>POST /{FunctionName}</c> on this app over HTTP. Retries follow the host:
/// a failed message becomes visible again after <c>visibilityTimeout</c> and goes to <c>{queue}-poison</c>
/// once it has been dequeued <c>maxDequeueCount</c> times.
/// </summary>
public sealed class LocalTriggerDispatcher(
    IServer server,
    IHostApplicationLifetime lifetime,
    FunctionCatalog catalog,
    FleetStorage storage,
    HostSettings settings,
    TimeProvider clock,
    ILogger<LocalTriggerDispatcher> logger) : BackgroundService
{
    // The host leases a message for 10 minutes while the function runs.
    private static readonly TimeSpan MessageLease = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(50);
    private HttpClient? _http;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await WaitForStartAsync(stoppingToken)) return;
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The app has no listening address for the dispatcher to call.");
        _http = new HttpClient { BaseAddress = new Uri(LoopbackAddress(address)), Timeout = MessageLease };

        var functions = catalog.Functions
            .Select(f => FunctionJsonGenerator.Parse(f.Name, FunctionJsonGenerator.Generate(f)))
            .ToList();
        var loops = functions.Where(f => f.Kind == TriggerKind.Queue).Select(f => PollQueueAsync(f, stoppingToken))
            .Concat(functions.Where(f => f.Kind == TriggerKind.Timer).Select(f => RunTimerAsync(f, stoppingToken)));
        logger.LogInformation("Local trigger dispatcher calling {Address} for {Count} trigger functions", _http.BaseAddress, functions.Count(f => f.Kind != TriggerKind.Http));
        await Task.WhenAll(loops);
    }

    private async Task<bool> WaitForStartAsync(CancellationToken ct)
    {
        var started = new TaskCompletionSource();
        using var _ = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var __ = ct.Register(() => started.TrySetCanceled(ct));
        try { await started.Task; return true; }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>
    /// Like the host: fetch up to <c>batchSize</c> messages, and fetch the next batch as soon as the messages still
    /// running drop to <c>newBatchThreshold</c>, so a slow message does not hold back the queue.
    /// </summary>
    private async Task PollQueueAsync(FunctionDefinition function, CancellationToken ct)
    {
        var queue = storage.Queue(function.QueueName!);
        var poison = storage.Queue(function.QueueName + "-poison");
        await queue.CreateIfNotExistsAsync(cancellationToken: ct);
        var idle = MinPollingInterval;
        var running = new HashSet<Task>();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                running.RemoveWhere(t => t.IsCompleted);
                if (running.Count > settings.NewBatchThreshold)
                {
                    await Task.WhenAny(running).WaitAsync(ct);
                    continue;
                }
                var received = (await queue.ReceiveMessagesAsync(settings.BatchSize, MessageLease, ct)).Value;
                if (received.Length == 0)
                {
                    await Task.Delay(idle, clock, ct);
                    // Work still running here tends to produce more (an orchestration step, then its next step): back off only when idle.
                    idle = running.Count > 0 ? MinPollingInterval : TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, settings.MaxPollingInterval.Ticks));
                    continue;
                }
                idle = MinPollingInterval;
                foreach (var message in received) running.Add(DeliverLoggedAsync(function, queue, poison, message, ct));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Polling {Queue} failed; retrying", function.QueueName);
                await Task.Delay(settings.MaxPollingInterval, clock, ct).ContinueWith(_ => { });
            }
        }
        await Task.WhenAll(running);
    }

    private async Task DeliverLoggedAsync(FunctionDefinition function, Azure.Storage.Queues.QueueClient queue,
        Azure.Storage.Queues.QueueClient poison, QueueMessage message, CancellationToken ct)
    {
        try { await DeliverAsync(function, queue, poison, message, ct); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The message stays leased and comes back after its lease, as with the host.
            logger.LogWarning(e, "Settling message {Id} on {Queue} failed", message.MessageId, queue.Name);
        }
    }

    private async Task DeliverAsync(FunctionDefinition function, Azure.Storage.Queues.QueueClient queue,
        Azure.Storage.Queues.QueueClient poison, QueueMessage message, CancellationToken ct)
    {
        var payload = new JsonObject
        {
            ["Data"] = new JsonObject { [function.BindingName] = message.Body.ToString() },
            ["Metadata"] = new JsonObject
            {
                ["DequeueCount"] = message.DequeueCount,
                ["ExpirationTime"] = message.ExpiresOn,
                ["Id"] = message.MessageId,
                ["InsertionTime"] = message.InsertedOn,
                ["NextVisibleTime"] = message.NextVisibleOn,
                ["PopReceipt"] = message.PopReceipt,
                ["sys"] = SystemMetadata(function.Name),
            },
        };
        if (await InvokeAsync(function, payload, ct))
        {
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None);
        }
        else if (message.DequeueCount >= settings.MaxDequeueCount)
        {
            logger.LogError("Message {Id} on {Queue} failed {Count} times; moving it to {Poison}", message.MessageId, queue.Name, message.DequeueCount, poison.Name);
            await poison.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None);
            await poison.SendMessageAsync(message.Body.ToString(), CancellationToken.None);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None);
        }
        else
        {
            await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: settings.VisibilityTimeout, cancellationToken: CancellationToken.None);
        }
    }

    private async Task RunTimerAsync(FunctionDefinition function, CancellationToken ct)
    {
        var schedule = CronExpression.Parse(function.Schedule!, CronFormat.IncludeSeconds);
        DateTimeOffset? last = null;
        while (!ct.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            // A delay may end a hair early: never take the occurrence just fired for the next one.
            var from = last is { } fired && fired > now ? fired : now;
            var next = schedule.GetNextOccurrence(from, TimeZoneInfo.Utc);
            if (next is null) return;
            try { await Task.Delay(next.Value > now ? next.Value - now : TimeSpan.Zero, clock, ct); }
            catch (OperationCanceledException) { return; }

            var following = schedule.GetNextOccurrence(next.Value, TimeZoneInfo.Utc);
            var payload = new JsonObject
            {
                ["Data"] = new JsonObject
                {
                    [function.BindingName] = new JsonObject
                    {
                        ["Schedule"] = new JsonObject { ["AdjustForDST"] = true },
                        ["ScheduleStatus"] = new JsonObject { ["Last"] = last ?? DateTimeOffset.MinValue, ["Next"] = following, ["LastUpdated"] = next },
                        ["IsPastDue"] = false,
                    },
                },
                ["Metadata"] = new JsonObject { ["sys"] = SystemMetadata(function.Name) },
            };
            // Like the host, a failed timer run is logged and not retried; the next occurrence runs as usual.
            await InvokeAsync(function, payload, ct);
            last = next;
        }
    }

    private async Task<bool> InvokeAsync(FunctionDefinition function, JsonObject payload, CancellationToken ct)
    {
        try
        {
            using var response = await _http!.PostAsJsonAsync("/" + function.Name, payload, ct);
            if (response.IsSuccessStatusCode) return true;
            logger.LogWarning("Function {Function} answered {Status}: {Body}", function.Name, (int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
            return false;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Invoking {Function} failed", function.Name);
            return false;
        }
    }

    private JsonObject SystemMetadata(string functionName) => new()
    {
        ["MethodName"] = functionName,
        ["UtcNow"] = clock.GetUtcNow(),
        ["RandGuid"] = Guid.NewGuid().ToString(),
    };

    private static string LoopbackAddress(string address) =>
        address.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1")
            .Replace("://0.0.0.0", "://127.0.0.1").Replace("://[::]", "://127.0.0.1").Replace("://localhost", "://127.0.0.1");

    public override void Dispose()
    {
        _http?.Dispose();
        base.Dispose();
    }
}
