using System.Net;
using System.Net.Http.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Hosting;

public sealed class LocalDispatcherTests : IAsyncLifetime
{
    private FleetServer _server = null!;
    private QueueClient _queue = null!;

    public async Task InitializeAsync()
    {
        _server = await ProbeServer.Shared;
        _queue = _server.Services.GetRequiredService<FleetStorage>().Queue(ProbeServer.QueueName);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Queue_message_arrives_with_the_hosts_payload_shape()
    {
        var text = $"ok:{Guid.NewGuid():n}";
        await _queue.SendMessageAsync(text);

        var calls = await Eventually.WaitAsync(() => Task.FromResult(ProbeServer.QueueCalls.GetValueOrDefault(text)), c => c is { Count: 1 }, what: "delivery");
        Assert.Equal(1, calls!.Single().DequeueCount);

        var raw = ProbeServer.RawQueuePayloads.Single(p => p["Data"]?["message"]?.GetValue<string>() == text);
        var metadata = raw["Metadata"]!.AsObject();
        foreach (var field in new[] { "DequeueCount", "ExpirationTime", "Id", "InsertionTime", "NextVisibleTime", "PopReceipt" })
            Assert.True(metadata.ContainsKey(field), $"Metadata lacks {field}");
        Assert.Equal("ProbeQueue", metadata["sys"]!["MethodName"]!.GetValue<string>());
        Assert.Equal(calls.Single().MessageId, metadata["Id"]!.GetValue<string>());

        // Succeeded → deleted: nothing left to redeliver.
        await Task.Delay(300);
        Assert.Single(ProbeServer.QueueCalls[text]);
    }

    [Fact]
    public async Task Failed_invocations_are_retried_with_rising_dequeue_count()
    {
        var text = $"fail-2:{Guid.NewGuid():n}";
        await _queue.SendMessageAsync(text);
        var calls = await Eventually.WaitAsync(() => Task.FromResult(ProbeServer.QueueCalls.GetValueOrDefault(text)), c => c is { Count: >= 3 }, what: "three deliveries");
        Assert.Equal([1L, 2L, 3L], calls!.Select(c => c.DequeueCount));
        await Task.Delay(300);
        Assert.Equal(3, ProbeServer.QueueCalls[text].Count);
    }

    [Fact]
    public async Task Message_lands_in_poison_queue_after_five_dequeues()
    {
        var text = $"always-fail:{Guid.NewGuid():n}";
        await _queue.SendMessageAsync(text);
        var poison = _server.Services.GetRequiredService<FleetStorage>().Queue(ProbeServer.QueueName + "-poison");

        await Eventually.WaitAsync(async () =>
        {
            var peeked = (await poison.PeekMessagesAsync(32)).Value;
            return peeked.Any(m => m.Body.ToString() == text);
        }, found => found, TimeSpan.FromSeconds(30), "poison message");
        Assert.Equal([1L, 2L, 3L, 4L, 5L], ProbeServer.QueueCalls[text].Select(c => c.DequeueCount));
    }

    [Fact]
    public async Task Invocation_endpoint_accepts_a_host_payload_directly()
    {
        var text = $"ok:{Guid.NewGuid():n}";
        using var client = _server.Client();
        var response = await client.PostAsJsonAsync("/ProbeQueue", new
        {
            Data = new { message = text },
            Metadata = new { DequeueCount = 1, Id = "host-message-id", InsertionTime = DateTimeOffset.UtcNow, sys = new { MethodName = "ProbeQueue" } },
        });
        await response.AssertStatusAsync(HttpStatusCode.OK);
        var result = await response.JsonAsync();
        Assert.True(result.TryGetProperty("Outputs", out _));
        Assert.True(result.TryGetProperty("Logs", out _));
        Assert.True(result.TryGetProperty("ReturnValue", out _));
        Assert.Equal("host-message-id", ProbeServer.QueueCalls[text].Single().MessageId);

        var failing = await client.PostAsJsonAsync("/ProbeQueue", new { Data = new { message = "always-fail:direct" }, Metadata = new { DequeueCount = 1 } });
        Assert.Equal(HttpStatusCode.InternalServerError, failing.StatusCode);
        Assert.Contains("probe failure", (await failing.JsonAsync()).GetProperty("Logs")[0].GetString());
    }

    [Fact]
    public async Task Timer_function_fires_on_its_schedule()
    {
        var start = DateTimeOffset.UtcNow;
        await Eventually.WaitAsync(() => Task.FromResult(ProbeServer.TimerCalls.Count(c => c.At > start)), n => n >= 3, TimeSpan.FromSeconds(10), "three timer runs");
        var runs = ProbeServer.TimerCalls.Where(c => c.At > start).Take(3).ToList();
        // An every-second schedule: each run is the next occurrence after the previous one, none fires twice.
        for (var i = 1; i < runs.Count; i++)
            Assert.Equal(TimeSpan.FromSeconds(1), runs[i].Invocation.Next - runs[i - 1].Invocation.Next);
        Assert.All(runs, r => Assert.NotNull(r.Invocation.Next));
    }
}
