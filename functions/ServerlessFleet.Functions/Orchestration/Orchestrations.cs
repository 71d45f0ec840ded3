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
public sealed class Orchestrations(DurableTaskClient client) : IOrchestrationStarter
{
    public static ValueTask<Orchestrations?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<Orchestrations?>(context.Features.Get<Orchestrations>()
            ?? throw new InvalidOperationException("This function has no [DurableClient] binding."));

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

    /// <summary>
    /// Raises a command and reads until its effect shows (the orchestration applies it within a polling interval of the
    /// task hub): the caller answers with the state after the change. False when it did not show within
    /// <see cref="CommandWait"/>; the command still stands and is applied later.
    /// </summary>
    public async Task<(T Value, bool Applied)> CommandAsync<T>(string instanceId, string eventName, string command,
        Func<CancellationToken, Task<T>> read, Func<T, bool> applied, CancellationToken ct)
    {
        await RaiseAsync(instanceId, eventName, command, ct);
        var deadline = DateTime.UtcNow + CommandWait;
        var again = DateTime.UtcNow + CommandRepeat;
        while (true)
        {
            var value = await read(ct);
            if (applied(value)) return (value, true);
            if (DateTime.UtcNow >= deadline) return (value, false);
            if (DateTime.UtcNow >= again)
            {
                // An event can be lost around a continue-as-new; the orchestrators ignore a command that no longer applies,
                // so raising it again is safe.
                await RaiseAsync(instanceId, eventName, command, ct);
                again = DateTime.UtcNow + CommandRepeat;
            }
            await Task.Delay(CommandPoll, ct);
        }
    }

    public static readonly TimeSpan CommandWait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan CommandPoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan CommandRepeat = TimeSpan.FromSeconds(5);

    public Task<OrchestrationMetadata?> FindAsync(string instanceId, CancellationToken ct) =>
        client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, ct);
}
