using System.Net;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Http.Json;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Orchestration;

public sealed class OrchestrationsApiTests : IAsyncLifetime
{
    private TestTenant _tenant = null!;
    private OrchestrationClient _client = null!;

    public async Task InitializeAsync()
    {
        var server = await FleetServer.Shared;
        _tenant = await server.CreateTenantAsync("orch");
        _client = server.Services.GetRequiredService<OrchestrationClient>();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A bulk action of two batches an hour apart: its orchestration runs in the app and waits on a durable timer.</summary>
    private async Task<string> StartWaitingAsync()
    {
        var devices = await TestDevices.SeedAdmittedAsync(_tenant, 2, $"orch-{Guid.NewGuid():n}"[..12]);
        using var owner = _tenant.OwnerClient();
        var created = await owner.PostAsJsonAsync("/api/v1/actions", new
        {
            type = "reboot",
            devices = devices.Select(d => d.Serial),
            rollout = new { batchSize = 1, batchDelaySeconds = 3600 },
        });
        var id = (await (await created.AssertStatusAsync(HttpStatusCode.Accepted)).JsonAsync()).GetProperty("orchestrationId").GetString()!;
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.RuntimeStatus, s => s == OrchestrationRuntimeStatus.Running);
        return id;
    }

    [Fact]
    public async Task Operator_reads_status_in_the_durable_shape()
    {
        var id = await StartWaitingAsync();
        using var reader = _tenant.Server.Client(await _tenant.CreateKeyAsync(Scopes.FleetRead));
        var body = await (await reader.GetAsync($"/api/v1/orchestrations/{id}")).JsonAsync();
        Assert.Equal("Running", body.GetProperty("runtimeStatus").GetString());
        foreach (var field in new[] { "instanceId", "name", "runtimeStatus", "customStatus", "input", "output", "createdTime", "lastUpdatedTime" })
            Assert.True(body.TryGetProperty(field, out _), $"missing {field}");
        Assert.Equal(BulkActionOrchestrator.Name, body.GetProperty("name").GetString());
        Assert.Equal(_tenant.TenantId, body.GetProperty("input").GetProperty("tenantId").GetString());

        var list = await (await reader.GetAsync($"/api/v1/orchestrations?status=Running&name={BulkActionOrchestrator.Name}")).JsonAsync();
        Assert.Contains(list.GetProperty("data").EnumerateArray(), o => o.GetProperty("instanceId").GetString() == id);
        await (await reader.GetAsync("/api/v1/orchestrations?status=Sleeping")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task Suspend_resume_terminate_need_fleet_admin()
    {
        var id = await StartWaitingAsync();
        using var reader = _tenant.Server.Client(await _tenant.CreateKeyAsync(Scopes.FleetRead));
        await (await reader.PostAsync($"/api/v1/orchestrations/{id}:suspend", null)).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");

        using var admin = _tenant.Server.Client(await _tenant.CreateKeyAsync(Scopes.FleetAdmin));
        await (await admin.PostAsync($"/api/v1/orchestrations/{id}:suspend", null)).AssertStatusAsync(HttpStatusCode.Accepted);
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.RuntimeStatus, s => s == OrchestrationRuntimeStatus.Suspended);
        await (await admin.PostAsync($"/api/v1/orchestrations/{id}:resume", null)).AssertStatusAsync(HttpStatusCode.Accepted);
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.RuntimeStatus, s => s == OrchestrationRuntimeStatus.Running);
        var terminate = await admin.PostAsync($"/api/v1/orchestrations/{id}:terminate", null);
        await terminate.AssertStatusAsync(HttpStatusCode.Accepted);
        Assert.Equal($"/api/v1/orchestrations/{id}", terminate.Headers.Location!.ToString());
        await Eventually.WaitAsync(async () => (await _client.GetStatusAsync(id))!.RuntimeStatus, s => s == OrchestrationRuntimeStatus.Terminated);
        await (await admin.PostAsync($"/api/v1/orchestrations/{id}:terminate", null)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await admin.DeleteAsync($"/api/v1/orchestrations/{id}")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await admin.GetAsync($"/api/v1/orchestrations/{id}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Another_tenants_orchestrations_do_not_exist()
    {
        var id = await StartWaitingAsync();
        var other = await _tenant.Server.CreateTenantAsync("orch-other");
        using var client = other.OwnerClient();
        await (await client.GetAsync($"/api/v1/orchestrations/{id}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await client.PostAsync($"/api/v1/orchestrations/{id}:terminate", null)).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        var list = await (await client.GetAsync("/api/v1/orchestrations")).JsonAsync();
        Assert.DoesNotContain(list.GetProperty("data").EnumerateArray(), o => o.GetProperty("instanceId").GetString() == id);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await _client.GetStatusAsync(id))!.RuntimeStatus);
    }
}
