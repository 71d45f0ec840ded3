using System.Security.Cryptography;
using System.Text;

namespace ServerlessFleet.Shared.Orchestration;

/// <summary>The context orchestrator code sees during one replay; it records what the code asks for.</summary>
internal sealed class ReplayContext(string instanceId, string? input) : IOrchestrationContext
{
    private readonly Dictionary<int, TaskCompletionSource<string?>> _open = new();
    private readonly Dictionary<string, LinkedList<TaskCompletionSource<string?>>> _waiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<string?>> _buffered = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _openNames = new();
    private int _nextId;
    private int _guidCounter;

    public string InstanceId { get; } = instanceId;
    public string? Input { get; } = input;
    public DateTimeOffset CurrentUtcDateTime { get; set; }
    public bool IsReplaying { get; set; }
    public string? CustomStatus { get; private set; }
    public ContinueAsNewRequest? ContinueAsNewRequested { get; private set; }

    /// <summary>Every command the code issued in this replay, by id.</summary>
    public SortedDictionary<int, OrchestrationCommand> Issued { get; } = new();

    public async Task<T> CallActivityAsync<T>(string name, object? input = null, RetryPolicy? retry = null)
    {
        var id = _nextId++;
        Issued[id] = new ScheduleActivityCommand(id, name, OrchestrationJson.Serialize(input), retry ?? RetryPolicy.None);
        _openNames[id] = name;
        var result = await Open(id);
        return OrchestrationJson.Deserialize<T>(result);
    }

    public Task CallActivityAsync(string name, object? input = null, RetryPolicy? retry = null) =>
        CallActivityAsync<object?>(name, input, retry);

    public Task CreateTimer(DateTimeOffset fireAt)
    {
        var id = _nextId++;
        Issued[id] = new CreateTimerCommand(id, fireAt);
        return Open(id);
    }

    public async Task<T> WaitForExternalEvent<T>(string name) =>
        OrchestrationJson.Deserialize<T>(await WaitRaw(name).Task);

    public async Task<T> WaitForExternalEvent<T>(string name, TimeSpan timeout)
    {
        var waiter = WaitRaw(name);
        var timer = CreateTimer(CurrentUtcDateTime + timeout);
        if (await Task.WhenAny(waiter.Task, timer) == waiter.Task) return OrchestrationJson.Deserialize<T>(await waiter.Task);
        // A waiter that timed out must not swallow a later event: that event belongs to the next wait.
        if (_waiters.TryGetValue(name, out var list)) list.Remove(waiter);
        throw new TimeoutException($"Event '{name}' did not arrive within {timeout}.");
    }

    public void SetCustomStatus(object? status) => CustomStatus = OrchestrationJson.Serialize(status);

    public void ContinueAsNew(object? input) => ContinueAsNewRequested = new ContinueAsNewRequest(OrchestrationJson.Serialize(input), []);

    public Guid NewGuid()
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{InstanceId}/{_guidCounter++}"));
        return new Guid(hash.AsSpan(0, 16));
    }

    public void Complete(int id, string? result)
    {
        if (_open.Remove(id, out var tcs)) tcs.SetResult(result);
    }

    public void Fail(int id, string errorType, string message)
    {
        if (_open.Remove(id, out var tcs))
            tcs.SetException(new ActivityFailedException(_openNames.GetValueOrDefault(id, "?"), errorType, message));
    }

    public void Raise(string name, string? data)
    {
        if (_waiters.TryGetValue(name, out var list) && list.First is { } first)
        {
            list.RemoveFirst();
            first.Value.SetResult(data);
            return;
        }
        if (!_buffered.TryGetValue(name, out var queue)) _buffered[name] = queue = new Queue<string?>();
        queue.Enqueue(data);
    }

    /// <summary>Events that arrived but that no wait consumed: they survive a continue-as-new.</summary>
    public IEnumerable<HistoryEvent> UnconsumedEvents() =>
        _buffered.SelectMany(b => b.Value.Select(d => new HistoryEvent(HistoryEventKind.EventRaised, Name: b.Key, Data: d)));

    private TaskCompletionSource<string?> WaitRaw(string name)
    {
        var tcs = new TaskCompletionSource<string?>();
        if (_buffered.TryGetValue(name, out var queue) && queue.Count > 0)
        {
            tcs.SetResult(queue.Dequeue());
            return tcs;
        }
        if (!_waiters.TryGetValue(name, out var list)) _waiters[name] = list = new LinkedList<TaskCompletionSource<string?>>();
        list.AddLast(tcs);
        return tcs;
    }

    private Task<string?> Open(int id)
    {
        var tcs = new TaskCompletionSource<string?>();
        _open[id] = tcs;
        return tcs.Task;
    }
}
