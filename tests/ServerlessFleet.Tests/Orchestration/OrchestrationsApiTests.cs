using System.Net;
using System.Net.Http.Json;
using ServerlessFleet.Functions.Actions;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Orchestration;

public sealed class OrchestrationsApiTests : IAsyncLifetime
{
    /// <summary>
    /// An event reaches an orchestration through its control queue, which the engine can hold back for tens of seconds
    /// (a message received before the history it follows is returned with a doubling delay): a deadline, not a pace.
    /// </summary>
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromSeconds(90);

    private TestTenant _tenant = null!;
    private HttpClient _reader = null!;

    public async Task InitializeAsync()
    {
        var server = await FleetServer.Shared;
        _tenant = await server.CreateTenantAsync("orch");
        _reader = server.Client(await _tenant.CreateKeyAsync(Scopes.FleetRead));
    }

    private async Task<string?> RuntimeStatusAsync(string id)
    {
        var response = await _reader.GetAsync($"/api/v1/orchestrations/{id}");
        return response.StatusCode == HttpStatusCode.NotFound ? null : (await response.JsonAsync()).GetProperty("runtimeStatus").GetString();
    }

    public Task DisposeAsync()
    {
        _reader.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A bulk action of two batches an hour apart: its orchestration runs in the app and waits on a durable timer.</summary>
    private async Task<(string Instance, string Action)> StartWaitingAsync()
    {
        var devices = await TestDevices.SeedAdmittedAsync(_tenant, 2, $"orch-{Guid.NewGuid():n}"[..12]);
        using var owner = _tenant.OwnerClient();
        var created = await owner.PostAsJsonAsync("/api/v1/actions", new
        {
            type = "reboot",
            devices = devices.Select(d => d.Serial),
            rollout = new { batchSize = 1, batchDelaySeconds = 3600 },
        });
        var body = await (await created.AssertStatusAsync(HttpStatusCode.Accepted)).JsonAsync();
        var id = body.GetProperty("orchestrationId").GetString()!;
        await Eventually.WaitAsync(() => RuntimeStatusAsync(id), s => s == "Running");
        return (id, body.GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task Operator_reads_status_in_the_durable_shape()
    {
        var (id, _) = await StartWaitingAsync();
        var reader = _reader;
        var body = await (await reader.GetAsync($"/api/v1/orchestrations/{id}")).JsonAsync();
        Assert.Equal("Running", body.GetProperty("runtimeStatus").GetString());
        foreach (var field in new[] { "instanceId", "name", "runtimeStatus", "customStatus", "input", "output", "createdTime", "lastUpdatedTime" })
            Assert.True(body.TryGetProperty(field, out _), $"missing {field}");
        Assert.Equal(BulkActionOrchestration.Name, body.GetProperty("name").GetString());
        Assert.Equal(_tenant.TenantId, body.GetProperty("input").GetProperty("tenantId").GetString());

        var list = await (await reader.GetAsync($"/api/v1/orchestrations?status=Running&name={BulkActionOrchestration.Name}")).JsonAsync();
        Assert.Contains(list.GetProperty("data").EnumerateArray(), o => o.GetProperty("instanceId").GetString() == id);
        await (await reader.GetAsync("/api/v1/orchestrations?status=Sleeping")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task Suspend_and_resume_need_fleet_admin_and_an_operation_is_ended_by_its_own_route()
    {
        var (id, action) = await StartWaitingAsync();
        await (await _reader.PostAsync($"/api/v1/orchestrations/{id}:suspend", null)).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");

        using var admin = _tenant.Server.Client(await _tenant.CreateKeyAsync(Scopes.FleetAdmin));
        await (await admin.PostAsync($"/api/v1/orchestrations/{id}:suspend", null)).AssertStatusAsync(HttpStatusCode.Accepted);
        await Eventually.WaitAsync(() => RuntimeStatusAsync(id), s => s == "Suspended", EngineTimeout, "the suspend applied");
        await (await admin.PostAsync($"/api/v1/orchestrations/{id}:resume", null)).AssertStatusAsync(HttpStatusCode.Accepted);
        await Eventually.WaitAsync(() => RuntimeStatusAsync(id), s => s == "Running", EngineTimeout, "the resume applied");
        await (await admin.PostAsync($"/api/v1/orchestrations/{id}:resume", null)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");

        // Terminating would leave the action running with devices waiting: refused, naming the route that ends it.
        var refused = await (await admin.PostAsync($"/api/v1/orchestrations/{id}:terminate", null)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        Assert.Contains($"/api/v1/actions/{action}:cancel", refused.GetProperty("message").GetString());
        await (await admin.DeleteAsync($"/api/v1/orchestrations/{id}")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");

        using var owner = _tenant.OwnerClient();
        var canceled = await (await owner.PostAsync($"/api/v1/actions/{action}:cancel", null)).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("canceled", (await canceled.JsonAsync()).GetProperty("status").GetString());
        await Eventually.WaitAsync(() => RuntimeStatusAsync(id), s => s == "Completed", EngineTimeout, "the operation ended");
        await (await admin.PostAsync($"/api/v1/orchestrations/{id}:terminate", null)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await admin.DeleteAsync($"/api/v1/orchestrations/{id}")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await admin.GetAsync($"/api/v1/orchestrations/{id}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        // The action itself stays, final and truthful.
        Assert.Equal("canceled", (await (await owner.GetAsync($"/api/v1/actions/{action}")).JsonAsync()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Another_tenants_orchestrations_do_not_exist()
    {
        var (id, _) = await StartWaitingAsync();
        var other = await _tenant.Server.CreateTenantAsync("orch-other");
        using var client = other.OwnerClient();
        await (await client.GetAsync($"/api/v1/orchestrations/{id}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await client.PostAsync($"/api/v1/orchestrations/{id}:terminate", null)).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        var list = await (await client.GetAsync("/api/v1/orchestrations")).JsonAsync();
        Assert.DoesNotContain(list.GetProperty("data").EnumerateArray(), o => o.GetProperty("instanceId").GetString() == id);
        Assert.Equal("Running", await RuntimeStatusAsync(id));
    }
}
