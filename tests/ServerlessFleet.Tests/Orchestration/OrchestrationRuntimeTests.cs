using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>The durable runtime on Azurite, driven through its queues by the harness.</summary>
public sealed class OrchestrationRuntimeTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private RuntimeHarness _server = null!;
    private OrchestrationClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await TestOrchestrations.Server;
        _client = _server.Services.GetRequiredService<OrchestrationClient>();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():n}";

    [Fact]
    public async Task Activity_timer_and_event_complete_with_the_event_value()
    {
        var id = await _client.StartAsync("Sample", new SampleInput(10, 60), NewId("sample"));
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.CustomStatus?.ToString(), s => s?.Contains("waiting") == true, Timeout, "the event wait");
        await _client.RaiseEventAsync(id, "Approve", "yes");

        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, status.RuntimeStatus);
        Assert.Equal("12:yes", status.Output!.Value.GetString());
        Assert.Equal("done", status.CustomStatus!.Value.GetProperty("stage").GetString());
        Assert.Equal(10, status.Input!.Value.GetProperty("start").GetInt32());
        Assert.True(status.LastUpdatedTime > status.CreatedTime);
    }

    [Fact]
    public async Task Event_wait_times_out_when_no_event_comes()
    {
        var id = await _client.StartAsync("Sample", new SampleInput(1, 1), NewId("timeout"));
        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal("3:timed-out", status.Output!.Value.GetString());
    }

    [Fact]
    public async Task Event_raised_before_the_wait_is_kept()
    {
        var id = await _client.StartAsync("Sample", new SampleInput(1, 60), NewId("early"));
        await _client.RaiseEventAsync(id, "Approve", "early");
        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal("3:early", status.Output!.Value.GetString());
    }

    [Fact]
    public async Task Fan_out_of_1000_activities_runs_each_exactly_once()
    {
        var id = await _client.StartAsync("FanOut", 1000, NewId("fanout"));
        var status = await _client.WaitForCompletionAsync(id, TimeSpan.FromMinutes(3));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, status.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, 1000).Sum(i => (long)i * i), status.Output!.Value.GetInt64());
        var runs = TestOrchestrations.Executions.Where(e => e.Key.StartsWith(id + ":")).ToList();
        Assert.Equal(1000, runs.Count);
        Assert.All(runs, r => Assert.Equal(1, r.Value));
    }

    [Fact]
    public async Task Start_is_idempotent_on_instance_id()
    {
        var id = NewId("idem");
        await _client.StartAsync("Sample", new SampleInput(100, 1), id);
        await _client.StartAsync("Sample", new SampleInput(999, 1), id);
        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal("102:timed-out", status.Output!.Value.GetString());
        Assert.Equal(1, TestOrchestrations.Executions[$"{id}:0"]);
    }

    [Fact]
    public async Task Failed_activity_is_retried_by_policy_and_surfaces_when_retries_run_out()
    {
        var recovered = await _client.StartAsync("Flaky", 2, NewId("flaky"));
        var ok = await _client.WaitForCompletionAsync(recovered, Timeout);
        Assert.Equal(3, ok.Output!.Value.GetInt32());

        var caught = await _client.StartAsync("CatchFailure", 0, NewId("catch"));
        var handled = await _client.WaitForCompletionAsync(caught, Timeout);
        Assert.Equal("caught Fail: InvalidOperationException: activity broke", handled.Output!.Value.GetString());

        var exhausted = await _client.StartAsync("Flaky", 10, NewId("exhausted"));
        var failed = await _client.WaitForCompletionAsync(exhausted, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Failed, failed.RuntimeStatus);
        Assert.Equal(nameof(ActivityFailedException), failed.FailureDetails!.ErrorType);
        Assert.Contains("flaky attempt 4", failed.FailureDetails.ErrorMessage);
    }

    [Fact]
    public async Task Suspended_instance_holds_its_events_until_resumed()
    {
        var id = await _client.StartAsync("Counter", 0, NewId("suspend"));
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.RuntimeStatus, s => s == OrchestrationRuntimeStatus.Running, Timeout);
        await _client.SuspendAsync(id, "maintenance");
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.RuntimeStatus, s => s == OrchestrationRuntimeStatus.Suspended, Timeout);

        await _client.RaiseEventAsync(id, "Add", 4);
        await Task.Delay(500);
        var held = await _client.GetStatusAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, held!.RuntimeStatus);
        Assert.Null(held.CustomStatus);

        await _client.ResumeAsync(id);
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.CustomStatus?.GetInt32(), v => v == 4, Timeout, "the held event");
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await _client.GetStatusAsync(id))!.RuntimeStatus);
    }

    [Fact]
    public async Task Terminated_instance_stops_and_refuses_further_events()
    {
        var id = await _client.StartAsync("WaitForever", "x", NewId("terminate"));
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.RuntimeStatus, s => s == OrchestrationRuntimeStatus.Running, Timeout);
        await _client.TerminateAsync(id, "no longer needed");
        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, status.RuntimeStatus);
        Assert.Equal("no longer needed", status.Output!.Value.GetString());
        var refused = await Assert.ThrowsAsync<ServerlessFleet.Shared.Errors.FleetException>(() => _client.RaiseEventAsync(id, "Never", "late"));
        Assert.Equal(ServerlessFleet.Shared.Errors.ErrorCategory.Conflict, refused.Category);

        await _client.PurgeAsync(id);
        Assert.Null(await _client.GetStatusAsync(id));
    }

    [Fact]
    public async Task Continue_as_new_restarts_with_new_input_and_keeps_surplus_events()
    {
        var id = await _client.StartAsync("Counter", 0, NewId("counter"));
        foreach (var n in new[] { 1, 2, 3, 1, 1, 1, 1 }) await _client.RaiseEventAsync(id, "Add", n);
        var status = await _client.WaitForCompletionAsync(id, Timeout);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, status.RuntimeStatus);
        Assert.Equal(10, status.Output!.Value.GetInt32());
        Assert.Equal(9, status.Input!.Value.GetInt32());
    }

    [Fact]
    public async Task Status_listing_filters_by_tenant_name_and_status_and_pages()
    {
        var tenant = $"list-{Guid.NewGuid():n}"[..20];
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(await _client.StartAsync("WaitForever", "x", NewId("list"), tenant));
        var finished = await _client.StartAsync("Sample", new SampleInput(0, 1), NewId("list"), tenant);
        await _client.WaitForCompletionAsync(finished, Timeout);

        var seen = new List<OrchestrationStatus>();
        var page = PageRequest.First(2);
        var query = new OrchestrationQuery(tenant, "WaitForever");
        while (true)
        {
            var result = await _client.ListAsync(query, page);
            Assert.True(result.Items.Count <= 2);
            seen.AddRange(result.Items);
            if (result.Next is null) break;
            page = result.Next;
        }
        Assert.Equal(ids.Order(), seen.Select(s => s.InstanceId).Order());

        var completed = await _client.ListAsync(new OrchestrationQuery(tenant, Statuses: [OrchestrationRuntimeStatus.Completed]), PageRequest.First(50));
        Assert.Equal(finished, Assert.Single(completed.Items).InstanceId);
        var none = await _client.ListAsync(new OrchestrationQuery(tenant, CreatedFrom: DateTimeOffset.UtcNow.AddMinutes(5)), PageRequest.First(50));
        Assert.Empty(none.Items);
    }
}
