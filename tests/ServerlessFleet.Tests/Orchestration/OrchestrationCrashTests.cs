using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>
/// A crash at every boundary between a step's storage writes: the work item that was being processed fails
/// (as a killed process's would), is redelivered, and the instance still completes once, every effect once.
/// </summary>
public sealed class OrchestrationCrashTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private RuntimeHarness _server = null!;
    private OrchestrationClient _client = null!;
    private OrchestrationWorker _worker = null!;

    public async Task InitializeAsync()
    {
        _server = await TestOrchestrations.Server;
        _client = _server.Services.GetRequiredService<OrchestrationClient>();
        _worker = _server.Services.GetRequiredService<OrchestrationWorker>();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData(FaultPoint.AfterStateCommit)]
    [InlineData(FaultPoint.AfterOutboxSent)]
    [InlineData(FaultPoint.AfterActivityRan)]
    [InlineData(FaultPoint.AfterResultWritten)]
    [InlineData(FaultPoint.AfterTimerWritten)]
    public async Task Crash_at_a_step_boundary_loses_and_duplicates_nothing(FaultPoint point)
    {
        var id = $"crash-{point}-{Guid.NewGuid():n}";
        // Twice, so that the crash also hits a redelivered item.
        TestOrchestrations.Faults.Arm(point, id, times: 2);
        await _client.StartAsync("Sample", new SampleInput(1, 1), id);

        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, status.RuntimeStatus);
        Assert.Equal("3:timed-out", status.Output!.Value.GetString());
        Assert.Equal(2, TestOrchestrations.Faults.Tripped[(point, id)]);

        // Each activity's effect was applied once, whatever the number of deliveries.
        Assert.Equal([$"{id}:0", $"{id}:2"], TestOrchestrations.Effects.Keys.Where(k => k.StartsWith(id + ":")).Order());
        await AssertHistoryHasNoDuplicatesAsync(id);
    }

    [Fact]
    public async Task Crash_after_start_is_written_but_before_wake_is_recovered_by_the_sweeper()
    {
        var id = $"crash-start-{Guid.NewGuid():n}";
        TestOrchestrations.Faults.Arm(FaultPoint.AfterClientWrite, id);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _client.StartAsync("Sample", new SampleInput(1, 1), id));
        await Task.Delay(300);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, (await _client.GetStatusAsync(id))!.RuntimeStatus);

        Assert.True(await _worker.WakeStalledAsync(TimeSpan.Zero, default) >= 1);
        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal("3:timed-out", status.Output!.Value.GetString());
    }

    [Fact]
    public async Task Work_item_that_fails_every_delivery_fails_the_instance_with_details()
    {
        var id = $"poison-{Guid.NewGuid():n}";
        TestOrchestrations.Faults.Arm(FaultPoint.AfterActivityRan, id, times: 100);
        await _client.StartAsync("Sample", new SampleInput(1, 1), id);

        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, status.RuntimeStatus);
        Assert.Equal("PoisonMessage", status.FailureDetails!.ErrorType);
        Assert.Contains(OrchestrationQueues.Activities, status.FailureDetails.ErrorMessage);
        Assert.Equal(5, TestOrchestrations.Faults.Tripped[(FaultPoint.AfterActivityRan, id)]);
    }

    private async Task AssertHistoryHasNoDuplicatesAsync(string id)
    {
        var storage = _server.Services.GetRequiredService<FleetStorage>();
        var row = (await storage.Table(OrchestrationQueues.Table).GetEntityAsync<Azure.Data.Tables.TableEntity>(id, "state")).Value;
        var history = System.Text.Json.JsonSerializer.Deserialize<List<HistoryEvent>>(ReadHistory(row), new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        foreach (var kind in new[] { HistoryEventKind.TaskScheduled, HistoryEventKind.TaskCompleted, HistoryEventKind.TimerCreated, HistoryEventKind.TimerFired })
        {
            var ids = history.Where(e => e.Kind == kind).Select(e => e.Id).ToList();
            Assert.Equal(ids.Distinct().Count(), ids.Count);
        }
        Assert.Single(history, e => e.Kind == HistoryEventKind.ExecutionStarted);
        // Nothing left behind: no inbox or outbox rows.
        var leftovers = storage.Table(OrchestrationQueues.Table).QueryAsync<Azure.Data.Tables.TableEntity>($"PartitionKey eq '{id}' and RowKey ne 'state'");
        await foreach (var r in leftovers) Assert.Fail($"Leftover row {r.RowKey}");
    }

    private static string ReadHistory(Azure.Data.Tables.TableEntity row)
    {
        using var buffer = new MemoryStream();
        for (var i = 0; i < row.GetInt32("HChunks"); i++) buffer.Write(row.GetBinary($"H{i:D2}"));
        buffer.Position = 0;
        using var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionMode.Decompress);
        return new StreamReader(gzip).ReadToEnd();
    }
}
