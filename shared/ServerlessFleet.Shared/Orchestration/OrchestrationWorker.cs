using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ServerlessFleet.Shared.Orchestration;

/// <summary>
/// Executes the runtime's work items. A step reads an instance's inbox, runs the orchestrator, and commits
/// state + outbox + consumed inbox in one transaction; only then are the outgoing messages sent and the
/// outbox row removed. Whatever point a crash hits, the triggering message is redelivered (or the sweeper
/// wakes the instance) and the step resumes from storage: sends may repeat, effects may not.
/// </summary>
public sealed class OrchestrationWorker
{
    private const int MaxRoundsPerInvocation = 50;
    private const int MaxConflictsPerInvocation = 20;

    private readonly OrchestrationStore _store;
    private readonly OrchestrationMessenger _messenger;
    private readonly OrchestrationRegistry _registry;
    private readonly TimeProvider _clock;
    private readonly IRuntimeFaults _faults;
    private readonly IServiceProvider _services;
    private readonly ILogger<OrchestrationWorker> _logger;
    private readonly InstanceLocks _locks = new();

    public OrchestrationWorker(Storage.FleetStorage storage, IOptions<OrchestrationRegistry> registry, TimeProvider clock,
        IRuntimeFaults faults, IServiceProvider services, ILogger<OrchestrationWorker> logger)
    {
        _store = new OrchestrationStore(storage);
        _messenger = new OrchestrationMessenger(storage);
        _registry = registry.Value;
        _clock = clock;
        _faults = faults;
        _services = services;
        _logger = logger;
    }

    public async Task HandleControlMessageAsync(string text, CancellationToken ct)
    {
        var message = JsonSerializer.Deserialize<ControlMessage>(text) ?? throw new JsonException("Empty control message.");
        if (message.Type == ControlMessage.Timer)
        {
            var now = _clock.GetUtcNow();
            if (message.FireAt > now)
            {
                // Not due yet: the wait was longer than one queue hop.
                await _messenger.SendAsync(OrchestrationMessenger.Timer(message.InstanceId, message.Generation, message.Id, message.FireAt.Value, now), ct);
                return;
            }
            await _store.WriteInboxAsync(message.InstanceId,
                new InboxMessage(InboxKeys.Timer(message.Generation, message.Id), InboxKind.Timer, now, message.Generation, message.Id), ct);
            _faults.At(FaultPoint.AfterTimerWritten, message.InstanceId);
        }
        await RunStepsAsync(message.InstanceId, ct);
    }

    public async Task HandleActivityMessageAsync(string text, CancellationToken ct)
    {
        var message = JsonSerializer.Deserialize<ActivityMessage>(text, OrchestrationJson.Options) ?? throw new JsonException("Empty activity message.");
        InboxMessage result;
        var activity = _registry.Activity(message.Name);
        var key = InboxKeys.Result(message.Generation, message.Id);
        if (activity is null)
        {
            result = new InboxMessage(key, InboxKind.Result, _clock.GetUtcNow(), message.Generation, message.Id,
                Data: $"No activity named '{message.Name}' is registered.", ErrorType: "UnknownActivity", Failed: true);
        }
        else
        {
            try
            {
                var output = await activity(message.Input, new ActivityContext(message.InstanceId, message.Name, message.Id, message.Attempt, _services));
                result = new InboxMessage(key, InboxKind.Result, _clock.GetUtcNow(), message.Generation, message.Id, Data: output);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                if (message.Attempt < message.Retry.MaxAttempts)
                {
                    var next = message with { Attempt = message.Attempt + 1 };
                    _logger.LogInformation(e, "Activity {Activity} of {Instance} failed (attempt {Attempt}); retrying", message.Name, message.InstanceId, message.Attempt);
                    await _messenger.SendAsync(OrchestrationMessenger.Activity(next, message.Retry.DelayBefore(next.Attempt)), ct);
                    return;
                }
                result = new InboxMessage(key, InboxKind.Result, _clock.GetUtcNow(), message.Generation, message.Id,
                    Data: e.Message, ErrorType: e.GetType().Name, Failed: true);
            }
        }
        _faults.At(FaultPoint.AfterActivityRan, message.InstanceId);
        await _store.WriteInboxAsync(message.InstanceId, result, ct);
        _faults.At(FaultPoint.AfterResultWritten, message.InstanceId);
        await _messenger.WakeAsync(message.InstanceId, ct);
    }

    /// <summary>A work item that failed every delivery: the instance fails with the details instead of waiting forever.</summary>
    public async Task HandlePoisonMessageAsync(string text, string queue, CancellationToken ct)
    {
        string? instanceId;
        try { instanceId = JsonDocument.Parse(text).RootElement.GetProperty("instanceId").GetString(); }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { instanceId = null; }
        if (instanceId is null)
        {
            _logger.LogError("Unreadable poison message on {Queue}: {Text}", queue, text);
            return;
        }
        using var _ = await _locks.AcquireAsync(instanceId, ct);
        for (var attempt = 0; attempt < MaxConflictsPerInvocation; attempt++)
        {
            var state = await _store.ReadStateAsync(instanceId, ct);
            if (state is null || state.RuntimeStatus.IsTerminal()) return;
            state.RuntimeStatus = OrchestrationRuntimeStatus.Failed;
            state.Failure = new FailureDetails("PoisonMessage", $"A work item on '{queue}' failed on every delivery and was abandoned: {Truncate(text, 1000)}");
            state.LastUpdatedTime = _clock.GetUtcNow();
            state.Episode++;
            if (await _store.TryCommitAsync(state, [], [], ct))
            {
                _logger.LogError("Orchestration {Instance} failed: poison work item on {Queue}", instanceId, queue);
                return;
            }
        }
        throw new InvalidOperationException($"Could not mark {instanceId} failed: too many concurrent updates.");
    }

    /// <summary>Wakes instances whose inbox or outbox rows have waited longer than <paramref name="olderThan"/> (a lost wake-up).</summary>
    public async Task<int> WakeStalledAsync(TimeSpan olderThan, CancellationToken ct)
    {
        var stalled = await _store.FindStalledAsync(_clock.GetUtcNow() - olderThan, ct);
        foreach (var instanceId in stalled) await _messenger.WakeAsync(instanceId, ct);
        if (stalled.Count > 0) _logger.LogWarning("Woke {Count} stalled orchestrations", stalled.Count);
        return stalled.Count;
    }

    internal async Task RunStepsAsync(string instanceId, CancellationToken ct)
    {
        using var _ = await _locks.AcquireAsync(instanceId, ct);
        var conflicts = 0;
        for (var round = 0; round < MaxRoundsPerInvocation; round++)
        {
            var (inbox, outbox) = await _store.ReadPendingAsync(instanceId, ct);
            foreach (var (rowKey, messages) in outbox)
            {
                await _messenger.SendAllAsync(messages, ct);
                _faults.At(FaultPoint.AfterOutboxSent, instanceId);
                await _store.DeleteRowAsync(instanceId, rowKey, ct);
            }
            if (inbox.Count == 0) return;

            var state = await _store.ReadStateAsync(instanceId, ct);
            if (state is null)
            {
                // Messages for a purged or never-created instance.
                foreach (var m in inbox) await _store.DeleteRowAsync(instanceId, m.RowKey, ct);
                return;
            }

            var batch = inbox.Take(OrchestrationStore.MaxMessagesPerStep).ToList();
            var step = StepPlanner.Plan(state, batch, _registry, _clock.GetUtcNow());
            if (step.Consumed.Count == 0) return; // suspended: its messages wait for resume

            if (!await _store.TryCommitAsync(state, step.Outgoing, step.Consumed, ct))
            {
                if (++conflicts > MaxConflictsPerInvocation)
                    throw new InvalidOperationException($"Orchestration {instanceId}: too many concurrent updates; the work item will be retried.");
                continue;
            }
            _faults.At(FaultPoint.AfterStateCommit, instanceId);
            if (step.Outgoing.Count > 0)
            {
                await _messenger.SendAllAsync(step.Outgoing, ct);
                _faults.At(FaultPoint.AfterOutboxSent, instanceId);
                await _store.DeleteRowAsync(instanceId, OrchestrationStore.OutboxKey(state.Episode), ct);
            }
        }
        // A very busy instance: hand the rest to a fresh invocation rather than holding this one.
        await _messenger.WakeAsync(instanceId, ct);
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
