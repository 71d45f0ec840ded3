using Microsoft.Extensions.DependencyInjection.Extensions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions.Orchestration;

/// <summary>The durable runtime's triggers: control and activity queues, their poison queues, and the sweeper.</summary>
public static class OrchestrationFunctions
{
    public const string SweeperSchedule = "0 */1 * * * *";
    /// <summary>Inbox or outbox rows untouched this long are taken for a lost wake-up.</summary>
    public static readonly TimeSpan StalledAfter = TimeSpan.FromMinutes(2);

    public static IEndpointRouteBuilder MapOrchestrationFunctions(this IEndpointRouteBuilder app)
    {
        app.MapQueueFunction("OrchestrationControl", OrchestrationQueues.Control,
            (m, services, ct) => services.GetRequiredService<OrchestrationWorker>().HandleControlMessageAsync(m.MessageText, ct));
        app.MapQueueFunction("OrchestrationActivity", OrchestrationQueues.Activities,
            (m, services, ct) => services.GetRequiredService<OrchestrationWorker>().HandleActivityMessageAsync(m.MessageText, ct));
        app.MapQueueFunction("OrchestrationControlPoison", OrchestrationQueues.Control + "-poison",
            (m, services, ct) => services.GetRequiredService<OrchestrationWorker>().HandlePoisonMessageAsync(m.MessageText, OrchestrationQueues.Control, ct));
        app.MapQueueFunction("OrchestrationActivityPoison", OrchestrationQueues.Activities + "-poison",
            (m, services, ct) => services.GetRequiredService<OrchestrationWorker>().HandlePoisonMessageAsync(m.MessageText, OrchestrationQueues.Activities, ct));
        app.MapTimerFunction("OrchestrationSweeper", SweeperSchedule,
            (_, services, ct) => services.GetRequiredService<OrchestrationWorker>().WakeStalledAsync(StalledAfter, ct));
        return app;
    }

    public static IServiceCollection AddOrchestrationRuntime(this IServiceCollection services)
    {
        services.AddOptions<OrchestrationRegistry>();
        services.TryAddSingleton<IRuntimeFaults, NoRuntimeFaults>();
        services.AddSingleton<OrchestrationWorker>();
        services.AddSingleton<OrchestrationClient>();
        return services;
    }
}
