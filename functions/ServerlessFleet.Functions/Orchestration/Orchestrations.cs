using DurableTask.Core.Exceptions;
using Grpc.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions.Orchestration;

/// <summary>
/// The invocation's Durable Task client as handlers see it. Functions that start or steer orchestrations declare a
/// <c>[DurableClient]</c> binding and hand it to <see cref="Hosting.FunctionHandlers"/>, which puts it here; a
/// handler asks for it as a parameter.
/// </summary>
public sealed class Orchestrations(DurableTaskClient client) : IOrchestrationStarter, IOrchestrationEvents
{
    public static ValueTask<Orchestrations?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<Orchestrations?>(new Orchestrations(context.Features.Get<DurableTaskClient>()
            ?? throw new InvalidOperationException("This function has no [DurableClient] binding.")));

    public DurableTaskClient Client => client;

    /// <summary>Starts the instance unless one with this id exists, in whatever state: starting is safe to repeat.</summary>
    public async Task StartOnceAsync(string name, string instanceId, object input, CancellationToken ct)
    {
        if (await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, ct) is not null) return;
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId), ct);
        }
        catch (Exception e) when (e is OrchestrationAlreadyExistsException or RpcException { StatusCode: StatusCode.AlreadyExists })
        {
            // Started by a concurrent request or an earlier attempt of this one.
        }
    }

    public Task RaiseAsync(string instanceId, string eventName, string payload, CancellationToken ct) =>
        client.RaiseEventAsync(instanceId, eventName, payload, ct);

    public Task<OrchestrationMetadata?> FindAsync(string instanceId, CancellationToken ct) =>
        client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, ct);
}
