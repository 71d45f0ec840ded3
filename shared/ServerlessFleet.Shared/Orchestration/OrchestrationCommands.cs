namespace ServerlessFleet.Shared.Orchestration;

/// <summary>Raises an event in a running orchestration. The function app implements it on its Durable Task client.</summary>
public interface IOrchestrationEvents
{
    Task RaiseAsync(string instanceId, string eventName, string payload, CancellationToken ct);
}

/// <summary>
/// An operator's command (pause, resume, abort, cancel) to the orchestration that runs an operation: raised as its
/// <see cref="OrchestrationNames.ControlEvent"/>, then the operation is read until the command shows, so the caller
/// answers with the state after the change. The orchestration applies it within a polling interval of the task hub.
/// </summary>
/// <param name="wait">How long a request waits for its command to show before answering that it is still under way (<see cref="FleetOptions.CommandWaitSeconds"/>).</param>
public sealed class OrchestrationCommands(TimeProvider clock, TimeSpan wait)
{
    public OrchestrationCommands(TimeProvider clock, Microsoft.Extensions.Options.IOptions<FleetOptions> options)
        : this(clock, TimeSpan.FromSeconds(options.Value.CommandWaitSeconds))
    {
    }

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Repeat = TimeSpan.FromSeconds(5);

    /// <returns>The operation as last read, and whether the command showed within the wait; if not, it still stands and is applied later.</returns>
    public async Task<(T Value, bool Applied)> SendAsync<T>(IOrchestrationEvents events, string instanceId, string command,
        Func<CancellationToken, Task<T>> read, Func<T, bool> applied, CancellationToken ct)
    {
        await events.RaiseAsync(instanceId, OrchestrationNames.ControlEvent, command, ct);
        var start = clock.GetUtcNow();
        var raised = start;
        while (true)
        {
            var value = await read(ct);
            if (applied(value)) return (value, true);
            var now = clock.GetUtcNow();
            if (now - start >= wait) return (value, false);
            if (now - raised >= Repeat)
            {
                // An event can be lost around a continue-as-new; the orchestrators ignore a command that no longer
                // applies, so raising it again is safe.
                await events.RaiseAsync(instanceId, OrchestrationNames.ControlEvent, command, ct);
                raised = now;
            }
            await Task.Delay(Poll, clock, ct);
        }
    }
}
