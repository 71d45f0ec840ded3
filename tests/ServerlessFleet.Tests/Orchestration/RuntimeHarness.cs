using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>
/// The orchestration runtime of <c>shared/</c> with the test orchestrations, in this process, on an Azurite of its own
/// (the app's worker shares the main one and knows only the product's orchestrations). Its queues are pumped the way the
/// queue triggers run them: a failed message comes back at once and is moved to the poison queue after 5 attempts.
/// </summary>
public sealed class RuntimeHarness
{
    private const int MaxDequeueCount = 5;
    private static readonly Lazy<Task<RuntimeHarness>> SharedInstance = new(StartAsync);

    private RuntimeHarness(IServiceProvider services) => Services = services;

    public static Task<RuntimeHarness> Shared => SharedInstance.Value;
    public IServiceProvider Services { get; }

    private static async Task<RuntimeHarness> StartAsync()
    {
        var provider = FleetApp.BuildServices(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = Azurite.StartPrivate(),
            ["Fleet:BootstrapKey"] = "runtime-harness-bootstrap-key-0123456789",
        }, TestOrchestrations.Register);
        var storage = provider.GetRequiredService<FleetStorage>();
        var worker = provider.GetRequiredService<OrchestrationWorker>();
        await storage.EnsureCreatedAsync(provider.GetRequiredService<StorageLayout>()
            .AddQueues(OrchestrationQueues.Control, OrchestrationQueues.Activities, OrchestrationQueues.Control + "-poison", OrchestrationQueues.Activities + "-poison"), default);
        Pump(storage, OrchestrationQueues.Control, worker.HandleControlMessageAsync);
        Pump(storage, OrchestrationQueues.Activities, worker.HandleActivityMessageAsync);
        Pump(storage, OrchestrationQueues.Control + "-poison", (m, ct) => worker.HandlePoisonMessageAsync(m, OrchestrationQueues.Control, ct));
        Pump(storage, OrchestrationQueues.Activities + "-poison", (m, ct) => worker.HandlePoisonMessageAsync(m, OrchestrationQueues.Activities, ct));
        return new RuntimeHarness(provider);
    }

    private static void Pump(FleetStorage storage, string queueName, Func<string, CancellationToken, Task> handle) => _ = Task.Run(async () =>
    {
        var queue = storage.Queue(queueName);
        var poison = storage.Queue(queueName + "-poison");
        while (true)
        {
            QueueMessage[] messages = (await queue.ReceiveMessagesAsync(16, TimeSpan.FromMinutes(5))).Value;
            if (messages.Length == 0)
            {
                await Task.Delay(50);
                continue;
            }
            await Task.WhenAll(messages.Select(async message =>
            {
                try
                {
                    await handle(message.Body.ToString(), default);
                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                }
                catch (Exception) when (message.DequeueCount >= MaxDequeueCount)
                {
                    await poison.SendMessageAsync(message.Body);
                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                }
                catch (Exception)
                {
                    await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero);
                }
            }));
        }
    });
}
