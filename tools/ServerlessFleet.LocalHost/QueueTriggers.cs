using System.Globalization;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;

namespace ServerlessFleet.LocalHost;

/// <summary>
/// The host's queue listener for one queue-triggered function, with host.json's semantics: up to <c>batchSize</c>
/// messages fetched at once, the next batch fetched when the messages still running drop to <c>newBatchThreshold</c>,
/// polling backed off from 100 ms to <c>maxPollingInterval</c> while the queue is empty; a failed message is made
/// visible again after <c>visibilityTimeout</c>, and after <c>maxDequeueCount</c> attempts moved to <c>&lt;queue&gt;-poison</c>.
/// </summary>
public sealed class QueueListener(LoadedFunction function, QueueClient queue, QueueClient poison, QueueSettings settings,
    TimeSpan functionTimeout, IFunctionInvoker channel, HostLog log)
{
    private static readonly TimeSpan MinimumPollingInterval = TimeSpan.FromMilliseconds(100);
    // Messages stay invisible to other listeners while they run; a host that dies releases them after this.
    private static readonly TimeSpan LeaseTime = TimeSpan.FromMinutes(10);
    private int _held;

    /// <summary>How many times the listener has decided not to fetch because enough messages were still running.</summary>
    public int HeldRounds => Volatile.Read(ref _held);

    public static QueueListener Create(LoadedFunction function, IReadOnlyDictionary<string, string> appSettings, HostSettings host,
        IFunctionInvoker channel, HostLog log)
    {
        var name = function.Trigger["queueName"]?.GetValue<string>() ?? throw new HostStartupException($"{function.Name} names no queue.");
        if (name.Contains('%')) throw new HostStartupException($"{function.Name}: queue names from app settings (%…%) are not supported by this host.");
        var connection = AppSettings.Connection(appSettings, function.Trigger["connection"]?.GetValue<string>());
        var options = new QueueClientOptions { MessageEncoding = host.Queues.Base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None };
        return new QueueListener(function, new QueueClient(connection, name, options), new QueueClient(connection, name + "-poison", options),
            host.Queues, host.FunctionTimeout, channel, log);
    }

    public async Task RunAsync(CancellationToken ct)
    {
        await queue.CreateIfNotExistsAsync(cancellationToken: ct);
        var running = 0;
        // Completed and replaced each time a message finishes: a wait never misses one, and never consumes one.
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var wait = MinimumPollingInterval;
        while (!ct.IsCancellationRequested)
        {
            var next = Volatile.Read(ref finished).Task;
            if (Volatile.Read(ref running) > settings.NewBatchThreshold)
            {
                Interlocked.Increment(ref _held);
                await next.WaitAsync(ct);
                continue;
            }
            QueueMessage[] messages;
            try
            {
                messages = (await queue.ReceiveMessagesAsync(settings.BatchSize, LeaseTime, ct)).Value;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.Host($"{function.Name}: receiving from {queue.Name} failed: {e.Message}");
                messages = [];
            }
            if (messages.Length == 0)
            {
                // While messages run, one finishing is the likely source of the next; otherwise back off.
                var idle = Volatile.Read(ref running) > 0 ? MinimumPollingInterval : wait;
                await Task.WhenAny(Task.Delay(idle, ct), next);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, settings.MaxPollingInterval.Ticks));
                continue;
            }
            wait = MinimumPollingInterval;
            foreach (var message in messages)
            {
                Interlocked.Increment(ref running);
                _ = ProcessAsync(message).ContinueWith(_ =>
                {
                    Interlocked.Decrement(ref running);
                    Interlocked.Exchange(ref finished, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                }, TaskScheduler.Default);
            }
        }
    }

    private async Task ProcessAsync(QueueMessage message)
    {
        bool succeeded;
        try
        {
            var response = await channel.InvokeAsync(function, new TypedData { String = message.Body.ToString() }, Metadata(message), functionTimeout);
            succeeded = response.Result.Status == StatusResult.Types.Status.Success;
            if (!succeeded) log.Host($"{function.Name} failed on message {message.MessageId} (dequeue {message.DequeueCount}): {response.Result.Exception?.Message}");
        }
        catch (Exception e) when (e is TimeoutException or WorkerGoneException)
        {
            log.Host($"{function.Name}: message {message.MessageId} not processed: {e.Message}");
            succeeded = false;
        }
        // Settled even while the host stops: a message left leased would stay invisible to every listener for the lease time.
        using var settling = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            if (succeeded)
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, settling.Token);
            else if (message.DequeueCount >= settings.MaxDequeueCount)
            {
                await poison.CreateIfNotExistsAsync(cancellationToken: settling.Token);
                await poison.SendMessageAsync(message.Body, cancellationToken: settling.Token);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, settling.Token);
                log.Host($"{function.Name}: message {message.MessageId} moved to {poison.Name} after {message.DequeueCount} attempts.");
            }
            else
                await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: settings.VisibilityTimeout, cancellationToken: settling.Token);
        }
        catch (Exception e)
        {
            // The lease runs out and the message comes back, as with the real host.
            log.Host($"{function.Name}: settling message {message.MessageId} failed: {e.Message}");
        }
    }

    private static Dictionary<string, TypedData> Metadata(QueueMessage message)
    {
        static TypedData Time(DateTimeOffset? t) => new() { Json = t is { } v ? $"\"{v.ToString("O", CultureInfo.InvariantCulture)}\"" : "null" };
        return new Dictionary<string, TypedData>
        {
            ["Id"] = new() { String = message.MessageId },
            ["DequeueCount"] = new() { Json = message.DequeueCount.ToString(CultureInfo.InvariantCulture) },
            ["PopReceipt"] = new() { String = message.PopReceipt },
            ["InsertionTime"] = Time(message.InsertedOn),
            ["ExpirationTime"] = Time(message.ExpiresOn),
            ["NextVisibleTime"] = Time(message.NextVisibleOn),
        };
    }
}
