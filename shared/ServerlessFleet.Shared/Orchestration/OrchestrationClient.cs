using System.Text.RegularExpressions;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Paging;
using Microsoft.Extensions.Options;

namespace ServerlessFleet.Shared.Orchestration;

/// <summary>The in-process client HTTP functions use: start, query, raise events, suspend/resume/terminate, purge.</summary>
public sealed partial class OrchestrationClient
{
    private const int MaxInputChars = 30_000;
    private readonly OrchestrationStore _store;
    private readonly OrchestrationMessenger _messenger;
    private readonly OrchestrationRegistry _registry;
    private readonly TimeProvider _clock;
    private readonly IRuntimeFaults _faults;

    public OrchestrationClient(Storage.FleetStorage storage, IOptions<OrchestrationRegistry> registry, TimeProvider clock, IRuntimeFaults faults)
    {
        _store = new OrchestrationStore(storage);
        _messenger = new OrchestrationMessenger(storage);
        _registry = registry.Value;
        _clock = clock;
        _faults = faults;
    }

    public static bool IsValidInstanceId(string id) => InstanceIdPattern().IsMatch(id);

    /// <summary>Starts an instance; starting an instance id that already exists returns it unchanged.</summary>
    public async Task<string> StartAsync(string name, object? input, string? instanceId = null, string? tenantId = null, CancellationToken ct = default)
    {
        if (!_registry.HasOrchestrator(name)) throw new ArgumentException($"No orchestrator named '{name}' is registered.", nameof(name));
        instanceId ??= Guid.NewGuid().ToString("n");
        if (!IsValidInstanceId(instanceId)) throw FleetException.Validation("instanceId", "Instance ids are 1-100 letters, digits, '-', '_' or '.'.");
        var json = OrchestrationJson.Serialize(input);
        if (json?.Length > MaxInputChars)
            throw FleetException.Validation("input", $"Orchestration input is limited to {MaxInputChars} characters; keep large data in its own table.");

        var now = _clock.GetUtcNow();
        var state = new InstanceState
        {
            InstanceId = instanceId, Name = name, TenantId = tenantId, RuntimeStatus = OrchestrationRuntimeStatus.Pending,
            Input = json, CreatedTime = now, LastUpdatedTime = now,
        };
        if (await _store.TryCreateAsync(state, new InboxMessage(InboxKeys.Start(0), InboxKind.Start, now), ct))
        {
            _faults.At(FaultPoint.AfterClientWrite, instanceId);
            await _messenger.WakeAsync(instanceId, ct);
        }
        return instanceId;
    }

    public Task<OrchestrationStatus?> GetStatusAsync(string instanceId, CancellationToken ct = default) =>
        IsValidInstanceId(instanceId) ? _store.ReadStatusAsync(instanceId, ct) : Task.FromResult<OrchestrationStatus?>(null);

    public Task<ListPage<OrchestrationStatus>> ListAsync(OrchestrationQuery query, PageRequest page, CancellationToken ct = default) =>
        _store.ListAsync(query, page, ct);

    /// <summary>Delivers an event; an event that arrives before the orchestrator waits for it is kept until it does.</summary>
    public Task RaiseEventAsync(string instanceId, string eventName, object? data, string? eventId = null, CancellationToken ct = default) =>
        WriteAsync(instanceId, at => new InboxMessage(InboxKeys.Event(at, eventId ?? Guid.NewGuid().ToString("n")), InboxKind.Event, at,
            Name: eventName, Data: OrchestrationJson.Serialize(data)), ct);

    public Task SuspendAsync(string instanceId, string? reason = null, CancellationToken ct = default) =>
        WriteAsync(instanceId, at => new InboxMessage(InboxKeys.Control(at), InboxKind.Suspend, at, Data: OrchestrationJson.Serialize(reason)), ct);

    public Task ResumeAsync(string instanceId, string? reason = null, CancellationToken ct = default) =>
        WriteAsync(instanceId, at => new InboxMessage(InboxKeys.Control(at), InboxKind.Resume, at, Data: OrchestrationJson.Serialize(reason)), ct);

    public Task TerminateAsync(string instanceId, string? reason = null, CancellationToken ct = default) =>
        WriteAsync(instanceId, at => new InboxMessage(InboxKeys.Control(at), InboxKind.Terminate, at, Data: OrchestrationJson.Serialize(reason)), ct);

    /// <summary>Removes a finished instance and its history; 409 while it still runs.</summary>
    public async Task PurgeAsync(string instanceId, CancellationToken ct = default)
    {
        var status = await GetStatusAsync(instanceId, ct) ?? throw FleetException.NotFound("Orchestration", instanceId);
        if (!status.RuntimeStatus.IsTerminal()) throw FleetException.Conflict($"Orchestration '{instanceId}' is {status.RuntimeStatus}; terminate it before purging.");
        await _store.PurgeAsync(instanceId, ct);
    }

    public async Task<OrchestrationStatus> WaitForCompletionAsync(string instanceId, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = _clock.GetUtcNow() + timeout;
        while (true)
        {
            var status = await GetStatusAsync(instanceId, ct);
            if (status is not null && status.RuntimeStatus.IsTerminal()) return status;
            if (_clock.GetUtcNow() > deadline)
                throw new TimeoutException($"Orchestration {instanceId} is still {status?.RuntimeStatus} after {timeout}.");
            await Task.Delay(TimeSpan.FromMilliseconds(50), _clock, ct);
        }
    }

    private async Task WriteAsync(string instanceId, Func<DateTimeOffset, InboxMessage> message, CancellationToken ct)
    {
        var status = await GetStatusAsync(instanceId, ct) ?? throw FleetException.NotFound("Orchestration", instanceId);
        if (status.RuntimeStatus.IsTerminal())
            throw FleetException.Conflict($"Orchestration '{instanceId}' is {status.RuntimeStatus}.");
        await _store.WriteInboxAsync(instanceId, message(_clock.GetUtcNow()), ct);
        _faults.At(FaultPoint.AfterClientWrite, instanceId);
        await _messenger.WakeAsync(instanceId, ct);
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,100}$")]
    private static partial Regex InstanceIdPattern();
}
