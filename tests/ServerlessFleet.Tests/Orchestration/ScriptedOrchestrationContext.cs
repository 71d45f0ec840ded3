using Microsoft.DurableTask;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>
/// A <see cref="TaskOrchestrationContext"/> for running an orchestrator as plain code, without the engine: activities
/// answer from handlers the test gives, durable timers move the orchestration's clock, and external events arrive at
/// the orchestration times the test schedules them for. Every activity call is recorded, with its input.
/// </summary>
public sealed class ScriptedOrchestrationContext(object input, DateTime start) : TaskOrchestrationContext
{
    private readonly Dictionary<string, Func<object?, object?>> _activities = new(StringComparer.Ordinal);
    private readonly List<(DateTime At, string Name, object Payload)> _events = [];
    private readonly List<(string Name, Action<object> Deliver)> _waiters = [];
    private DateTime _now = start;
    private object _input = input;

    public List<(string Name, object? Input, DateTime At)> Calls { get; } = [];
    public object? CustomStatus { get; private set; }
    public object? ContinuedAsNewWith { get; private set; }
    public int Generations { get; private set; } = 1;

    /// <summary>Runs the orchestrator, and again with its new input each time it continues as new, until it returns its result.</summary>
    public async Task<string> RunToEndAsync(Func<TaskOrchestrationContext, Task<string>> orchestrator, int maxGenerations = 100)
    {
        while (true)
        {
            ContinuedAsNewWith = null;
            var result = await orchestrator(this);
            if (ContinuedAsNewWith is null) return result;
            Assert.True(Generations < maxGenerations, $"Still running after {maxGenerations} generations.");
            _input = ContinuedAsNewWith;
            Generations++;
        }
    }

    /// <summary>Answers calls of the activity <paramref name="name"/> with <paramref name="answer"/> of their input.</summary>
    public ScriptedOrchestrationContext On<TIn, TOut>(string name, Func<TIn, TOut> answer)
    {
        _activities[name] = i => answer((TIn)i!);
        return this;
    }

    /// <summary>An event that arrives at <paramref name="at"/> orchestration time (or at once, if the orchestration is later).</summary>
    public ScriptedOrchestrationContext Raise(DateTime at, string name, object payload)
    {
        _events.Add((at, name, payload));
        return this;
    }

    public IEnumerable<string> CallNames => Calls.Select(c => c.Name);
    public IEnumerable<T> Inputs<T>(string activity) => Calls.Where(c => c.Name == activity).Select(c => (T)c.Input!);

    public override TaskName Name => new("Scripted");
    public override string InstanceId => "tenant:scripted:1";
    public override ParentOrchestrationInstance? Parent => null;
    public override DateTime CurrentUtcDateTime => _now;
    public override bool IsReplaying => false;
    protected override Microsoft.Extensions.Logging.ILoggerFactory LoggerFactory => Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;

    public override T GetInput<T>() => (T)_input;

    public override Task<TResult> CallActivityAsync<TResult>(TaskName name, object? activityInput = null, TaskOptions? options = null)
    {
        Calls.Add((name.Name, activityInput, _now));
        if (!_activities.TryGetValue(name.Name, out var answer)) throw new InvalidOperationException($"The test gave no answer for activity {name.Name}.");
        return Task.FromResult((TResult)answer(activityInput)!);
    }

    /// <summary>Fires at once, moving the clock, unless an event arrives first: then the event is delivered and the timer never fires.</summary>
    public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        var due = _events.Where(e => e.At <= fireAt && _waiters.Any(w => w.Name == e.Name)).OrderBy(e => e.At).FirstOrDefault();
        if (due.Name is null)
        {
            if (fireAt > _now) _now = fireAt;
            return Task.CompletedTask;
        }
        if (due.At > _now) _now = due.At;
        Deliver(due);
        var never = new TaskCompletionSource();
        cancellationToken.Register(() => never.TrySetCanceled());
        return never.Task;
    }

    public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default)
    {
        var arrived = _events.Where(e => e.Name == eventName && e.At <= _now).OrderBy(e => e.At).FirstOrDefault();
        if (arrived.Name is not null)
        {
            _events.Remove(arrived);
            return Task.FromResult((T)arrived.Payload);
        }
        var waiting = new TaskCompletionSource<T>();
        var waiter = (eventName, (Action<object>)(p => waiting.TrySetResult((T)p)));
        _waiters.Add(waiter);
        cancellationToken.Register(() =>
        {
            _waiters.Remove(waiter);
            waiting.TrySetCanceled();
        });
        return waiting.Task;
    }

    private void Deliver((DateTime At, string Name, object Payload) e)
    {
        _events.Remove(e);
        var waiter = _waiters.First(w => w.Name == e.Name);
        _waiters.Remove(waiter);
        waiter.Deliver(e.Payload);
    }

    public override void SetCustomStatus(object? customStatus) => CustomStatus = customStatus;

    public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) => ContinuedAsNewWith = newInput;

    public override Guid NewGuid() => Guid.NewGuid();

    public override Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null) =>
        throw new NotSupportedException("The app's orchestrations start no sub-orchestrations.");

    public override void SendEvent(string instanceId, string eventName, object payload) =>
        throw new NotSupportedException("The app's orchestrations send no events.");
}
