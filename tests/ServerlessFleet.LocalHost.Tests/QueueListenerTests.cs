using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;
using ServerlessFleet.DevStorage;

namespace ServerlessFleet.LocalHost.Tests;

/// <summary>
/// The local host's queue listener on a real queue, with a worker whose invocations finish when the test says so: the
/// batch threshold decides when the next batch is fetched.
/// </summary>
public sealed class QueueListenerTests
{
    [Fact]
    public async Task The_next_batch_is_fetched_only_when_running_messages_drop_to_the_threshold()
    {
        var queueName = $"listener-{Guid.NewGuid():n}"[..30];
        var encoded = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        var queue = new QueueClient(Azurite.ConnectionString, queueName, encoded);
        await queue.CreateAsync();
        for (var i = 0; i < 12; i++) await queue.SendMessageAsync($"m{i}");

        var worker = new HeldInvocations();
        var settings = new QueueSettings(BatchSize: 4, NewBatchThreshold: 2, MaxDequeueCount: 5, VisibilityTimeout: TimeSpan.Zero,
            MaxPollingInterval: TimeSpan.FromMilliseconds(200), Base64: true);
        var function = new LoadedFunction("Probe", "probe-id", new JsonObject { ["type"] = "queueTrigger", ["queueName"] = queueName }, "message", []);
        var listener = new QueueListener(function, queue, new QueueClient(Azurite.ConnectionString, queueName + "-poison", encoded), settings,
            TimeSpan.FromMinutes(1), worker, new HostLog(RpcLog.Types.Level.Warning));
        using var stop = new CancellationTokenSource();
        var running = listener.RunAsync(stop.Token);

        // Each "nothing more" is asserted once the listener has decided, for that state, to hold rather than fetch.
        await Eventually.WaitAsync(() => worker.Started == 4 && listener.HeldRounds >= 1, what: "the first batch, then a hold");
        Assert.Equal(4, worker.Started);

        var held = listener.HeldRounds;
        worker.Finish(1);
        await Eventually.WaitAsync(() => listener.HeldRounds > held, what: "a hold with three still running");
        Assert.Equal(4, worker.Started);

        held = listener.HeldRounds;
        worker.Finish(1);
        await Eventually.WaitAsync(() => worker.Started == 8 && listener.HeldRounds > held, what: "the second batch once two are left running, then a hold");
        Assert.Equal(8, worker.Started);
        Assert.Equal(6, worker.MostRunning);

        worker.FinishAll();
        await Eventually.WaitAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0, what: "every message deleted");
        Assert.Equal(12, worker.Started);
        await stop.CancelAsync();
        await running.ContinueWith(_ => { });
        await queue.DeleteAsync();
    }

    /// <summary>Invocations that succeed only when released, counting how many run at once.</summary>
    private sealed class HeldInvocations : IFunctionInvoker
    {
        private readonly ConcurrentQueue<TaskCompletionSource> _held = new();
        private int _started;
        private int _running;
        private int _mostRunning;
        private volatile bool _releaseAll;

        public int Started => Volatile.Read(ref _started);
        public int MostRunning => Volatile.Read(ref _mostRunning);

        public async Task<InvocationResponse> InvokeAsync(LoadedFunction function, TypedData trigger, IReadOnlyDictionary<string, TypedData> metadata,
            TimeSpan timeout, string? invocationId = null)
        {
            Interlocked.Increment(ref _started);
            var now = Interlocked.Increment(ref _running);
            int most;
            while (now > (most = Volatile.Read(ref _mostRunning)) && Interlocked.CompareExchange(ref _mostRunning, now, most) != most) { }
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_releaseAll) release.TrySetResult();
            else _held.Enqueue(release);
            await release.Task;
            Interlocked.Decrement(ref _running);
            return new InvocationResponse { Result = new StatusResult { Status = StatusResult.Types.Status.Success } };
        }

        public void Finish(int count)
        {
            for (var i = 0; i < count && _held.TryDequeue(out var release); i++) release.TrySetResult();
        }

        public void FinishAll()
        {
            _releaseAll = true;
            while (_held.TryDequeue(out var release)) release.TrySetResult();
        }
    }
}
