using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Hosting;

/// <summary>The local Functions host running the real worker: queue semantics from host.json, and a worker that dies.</summary>
public sealed partial class LocalHostTests
{
    [Fact]
    public async Task A_failing_message_is_retried_then_moved_to_the_poison_queue_after_five_dequeues()
    {
        var server = await FleetServer.Shared;
        var storage = server.Services.GetRequiredService<FleetStorage>();
        var poison = storage.Queue(ActionService.DeliveryQueue + "-poison");
        await poison.CreateIfNotExistsAsync();
        var marker = $"not-a-delivery-{Guid.NewGuid():n}";
        await storage.Queue(ActionService.DeliveryQueue).SendMessageAsync(marker);

        var poisoned = await Eventually.WaitAsync(async () => (await poison.PeekMessagesAsync(32)).Value.FirstOrDefault(m => m.Body.ToString() == marker),
            m => m is not null, TimeSpan.FromSeconds(60), "the message in the poison queue");
        Assert.NotNull(poisoned);
        // The host logged each failed attempt, then the move: five dequeues, not one more.
        var attempts = Regex.Matches(server.Host.RecentOutput, "DeliverDeviceAction failed on message [^ ]+ \\(dequeue (\\d)\\)")
            .Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.Equal([1, 2, 3, 4, 5], attempts.TakeLast(5));
        Assert.Contains($"moved to {ActionService.DeliveryQueue}-poison after 5 attempts", server.Host.RecentOutput);
    }

    [Fact]
    public async Task Killing_the_worker_mid_request_fails_the_request_and_the_host_exits_non_zero()
    {
        await using var server = await FleetServer.StartAsync();
        var pid = int.Parse(WorkerPid().Match(server.Host.RecentOutput).Groups[1].Value);
        using var client = server.Client();
        var body = new SlowContent();
        var request = client.PostAsync("/api/device/v1/auth", body);
        await body.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Process.GetProcessById(pid).Kill(entireProcessTree: true);

        var exitCode = await server.Host.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, exitCode);
        Assert.Contains("The worker process exited", server.Host.RecentOutput);
        var outcome = await Record.ExceptionAsync(async () =>
        {
            var response = await request.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        });
        Assert.True(outcome is null or HttpRequestException, $"the request neither failed nor answered 500: {outcome}");
    }

    [GeneratedRegex(@"Started worker process (\d+)")]
    private static partial Regex WorkerPid();

    /// <summary>A request body that starts, then keeps the request open.</summary>
    private sealed class SlowContent : HttpContent
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync("{\"identity\":"u8.ToArray());
            await stream.FlushAsync();
            Started.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(60));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
