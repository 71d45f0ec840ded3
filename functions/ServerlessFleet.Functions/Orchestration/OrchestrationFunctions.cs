using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions.Orchestration;

/// <summary>The durable runtime's triggers: control and activity queues, their poison queues, and the sweeper.</summary>
public sealed class OrchestrationFunctions(OrchestrationWorker worker)
{
    public const string SweeperSchedule = "0 */1 * * * *";
    /// <summary>Inbox or outbox rows untouched this long are taken for a lost wake-up.</summary>
    public static readonly TimeSpan StalledAfter = TimeSpan.FromMinutes(2);

    [Function("OrchestrationControl")]
    public Task ControlAsync([QueueTrigger(OrchestrationQueues.Control)] string message, CancellationToken ct) =>
        worker.HandleControlMessageAsync(message, ct);

    [Function("OrchestrationActivity")]
    public Task ActivityAsync([QueueTrigger(OrchestrationQueues.Activities)] string message, CancellationToken ct) =>
        worker.HandleActivityMessageAsync(message, ct);

    [Function("OrchestrationControlPoison")]
    public Task ControlPoisonAsync([QueueTrigger(OrchestrationQueues.Control + "-poison")] string message, CancellationToken ct) =>
        worker.HandlePoisonMessageAsync(message, OrchestrationQueues.Control, ct);

    [Function("OrchestrationActivityPoison")]
    public Task ActivityPoisonAsync([QueueTrigger(OrchestrationQueues.Activities + "-poison")] string message, CancellationToken ct) =>
        worker.HandlePoisonMessageAsync(message, OrchestrationQueues.Activities, ct);

    [Function("OrchestrationSweeper")]
    public Task SweepAsync([TimerTrigger(SweeperSchedule)] TimerInfo timer, CancellationToken ct) =>
        worker.WakeStalledAsync(StalledAfter, ct);
}

public static class OrchestrationRuntimeSetup
{
    public static IServiceCollection AddOrchestrationRuntime(this IServiceCollection services)
    {
        services.AddOptions<OrchestrationRegistry>();
        services.TryAddSingleton<IRuntimeFaults, NoRuntimeFaults>();
        services.AddSingleton<OrchestrationWorker>();
        services.AddSingleton<OrchestrationClient>();
        return services;
    }
}
