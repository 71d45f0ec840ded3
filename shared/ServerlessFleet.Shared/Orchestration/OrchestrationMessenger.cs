using System.Text.Json;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Orchestration;

/// <summary>Sends the runtime's queue messages. Delays round up to whole seconds (the queue's resolution) so a timer never arrives early.</summary>
internal sealed class OrchestrationMessenger(FleetStorage storage)
{
    /// <summary>Queue messages can be hidden for at most 7 days; longer timers are re-armed in hops.</summary>
    public static readonly TimeSpan MaxHop = TimeSpan.FromDays(6);
    private static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);

    public Task WakeAsync(string instanceId, CancellationToken ct) =>
        SendAsync(Wake(instanceId), ct);

    public static OutgoingMessage Wake(string instanceId) =>
        new(OrchestrationQueues.Control, JsonSerializer.Serialize(new ControlMessage(ControlMessage.Wake, instanceId)), TimeSpan.Zero);

    public static OutgoingMessage Timer(string instanceId, int generation, int id, DateTimeOffset fireAt, DateTimeOffset now)
    {
        var remaining = fireAt - now;
        var delay = remaining <= TimeSpan.Zero ? TimeSpan.Zero
            : remaining > MaxHop ? MaxHop
            : TimeSpan.FromSeconds(Math.Ceiling(remaining.TotalSeconds));
        return new(OrchestrationQueues.Control, JsonSerializer.Serialize(new ControlMessage(ControlMessage.Timer, instanceId, generation, id, fireAt)), delay);
    }

    public static OutgoingMessage Activity(ActivityMessage message, TimeSpan delay) =>
        new(OrchestrationQueues.Activities, JsonSerializer.Serialize(message, OrchestrationJson.Options), delay);

    public Task SendAsync(OutgoingMessage message, CancellationToken ct) =>
        storage.Queue(message.Queue).SendMessageAsync(message.Text,
            visibilityTimeout: message.Delay > TimeSpan.Zero ? TimeSpan.FromSeconds(Math.Ceiling(message.Delay.TotalSeconds)) : null,
            timeToLive: NeverExpires, cancellationToken: ct);

    public Task SendAllAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken ct) =>
        Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct },
            async (m, token) => await SendAsync(m, token));
}
