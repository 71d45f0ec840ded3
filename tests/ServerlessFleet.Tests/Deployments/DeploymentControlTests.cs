using ServerlessFleet.Shared.Devices;
using System.Net;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Functions.Deployments;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>Commands answered with their effect, a device row that lost its second write, and an orchestration that starts before its deployment is saved.</summary>
public sealed class DeploymentControlTests() : DeploymentTestBase("ctl")
{
    [Fact]
    public async Task Pause_and_resume_answer_with_the_state_after_the_change_and_a_repeated_pause_is_one_command()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 4, "ctl-p", "ctl-pause");
        await UploadArtifactAsync("fw", "3.0.0", "screen");
        var id = (await CreateAsync(new
        {
            name = "pausable",
            release = new { name = "fw", version = "3.0.0" },
            target = new { group = "ctl-pause" },
            phases = new object[] { new { batchSize = 2 }, new { } },
        })).GetProperty("id").GetString()!;
        await WaitOfferedAsync(id, devices.Take(2).ToList());

        var paused = await (await (await Owner.PostAsync($"/api/v1/deployments/{id}:pause", null)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal(DeploymentStatuses.Paused, Status(paused));
        Assert.Equal(DeploymentStatuses.Paused, Status(await DeploymentAsync(id)));
        Assert.Equal(DeploymentStatuses.Paused, Status(await (await (await Owner.PostAsync($"/api/v1/deployments/{id}:pause", null)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync()));
        var pauses = await (await Owner.GetAsync($"/api/v1/audit-logs?action=deployment.pause&objectId={id}")).JsonAsync();
        Assert.Single(pauses.GetProperty("data").EnumerateArray());

        // Paused: the first phase finishing releases nothing more.
        foreach (var device in devices.Take(2)) await InstallAsync(device, id, true);
        Assert.Equal(DeploymentStatuses.Paused, Status(await DecidedSinceAsync(id, DateTimeOffset.UtcNow)));
        foreach (var device in devices.Skip(2)) Assert.Null(await PollAsync(device));

        var resumed = await (await (await Owner.PostAsync($"/api/v1/deployments/{id}:resume", null)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal(DeploymentStatuses.InProgress, Status(resumed));
        await (await Owner.PostAsync($"/api/v1/deployments/{id}:resume", null)).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await RunFleetAsync(id, devices, (_, _) => true);
        Assert.Equal(4, Count(await DeploymentAsync(id), "success"));
    }

    [Fact]
    public async Task A_device_row_that_kept_a_finished_deployment_is_repaired_by_its_next_poll_or_report()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 2, "ctl-r", "ctl-repair");
        await UploadArtifactAsync("fw", "3.1.0", "screen");
        var id = (await CreateAsync(new { name = "repair", release = new { name = "fw", version = "3.1.0" }, target = new { group = "ctl-repair" } }))
            .GetProperty("id").GetString()!;
        await RunFleetAsync(id, devices, (_, _) => true);

        // The record says success; the device rows get the deployment back, as if the second write had been lost.
        var services = Tenant.Server.Services;
        var deployment = await services.GetRequiredService<DeploymentStore>().GetAsync(Tenant.TenantId, id, default);
        // The first device had reported on it (the lost write of its final report); the second had not (a lost leave on abort or timeout).
        var slot = new DeploymentSlot(id, deployment.Artifacts[0], false, 0, null);
        await services.GetRequiredService<DeviceStore>().ChangeDeploymentsAsync(Tenant.TenantId, devices[0].Serial,
            d => d.Deployments.Add(slot, DateTimeOffset.UtcNow).MarkStarted(id), default);
        await services.GetRequiredService<DeviceStore>().ChangeDeploymentsAsync(Tenant.TenantId, devices[1].Serial,
            d => d.Deployments.Add(slot, DateTimeOffset.UtcNow), default);

        // Polling offers nothing (and repairs the row); reporting is refused (and repairs it too).
        Assert.Null(await PollAsync(devices[0]));
        await (await ReportAsync(devices[1], id, "downloading")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        foreach (var device in devices)
            Assert.Null((await services.GetRequiredService<ServerlessFleet.Shared.Devices.DeviceStore>().GetAsync(Tenant.TenantId, device.Serial, default)).Deployments.Current);
        Assert.Null(await PollAsync(devices[1]));
    }

    [Fact]
    public async Task An_orchestration_started_before_its_deployment_is_saved_waits_for_it_and_runs_it()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 3, "ctl-s", "ctl-saved");
        var artifactId = await UploadArtifactAsync("fw", "3.2.0", "screen");
        var services = Tenant.Server.Services;
        var store = services.GetRequiredService<DeploymentStore>();
        var id = store.NewId();
        var instance = OrchestrationIds.Deployment(Tenant.TenantId, id);

        // The create handler's order: the orchestration first. Here the save comes seconds later, as after a slow write.
        await using var client = TaskHubClient.For(Tenant.Server);
        await client.ScheduleNewOrchestrationInstanceAsync(DeploymentOrchestration.Name, new DeploymentState(Tenant.TenantId, id, 1), new StartOrchestrationOptions(instance));
        // Waiting for its save: it has woken from its first durable timer (1 s) and looked again.
        var waiting = await Eventually.WaitAsync(() => client.GetInstanceAsync(instance), i => i is { } m && m.LastUpdatedAt - m.CreatedAt >= TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(60), "the orchestration to wait for its deployment");
        await (await Owner.GetAsync($"/api/v1/deployments/{id}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Running, waiting!.RuntimeStatus);
        // A command raised while it waits is carried into the generation that runs the deployment (continue-as-new keeps it).
        await client.RaiseEventAsync(instance, DeploymentOrchestration.ControlEvent, DeploymentCommands.Pause);

        var artifact = (await services.GetRequiredService<ArtifactStore>().FindAsync(Tenant.TenantId, artifactId, default))!;
        var now = DateTimeOffset.UtcNow;
        var targets = await services.GetRequiredService<DeviceTargets>().GroupAsync(Tenant.TenantId, "ctl-saved", default);
        var phases = DeploymentPlanner.Phases(null, targets.Count, new ValidationErrors());
        var deployment = new Deployment(id, Tenant.TenantId, "saved late",
            [new DeploymentArtifact(artifact.Id, artifact.Metadata.Name, artifact.Metadata.Version, artifact.Metadata.DeviceTypesCompatible, artifact.Sha256, artifact.Size)],
            new DeploymentTarget(null, "ctl-saved", null, false), phases, new DeploymentPolicy(0, null, null, null, null), false, DeploymentStatuses.Pending, now, null, "test");
        await store.CreateAsync(deployment, DeploymentPlanner.Records(targets, phases, deployment.ArtifactFor, now), default);

        // It applies at the orchestration's next wait: a batch it was already releasing goes out, nothing after it.
        await WaitForStatusAsync(id, DeploymentStatuses.Paused);
        await (await Owner.PostAsync($"/api/v1/deployments/{id}:resume", null)).AssertStatusAsync(HttpStatusCode.OK);
        await RunFleetAsync(id, devices, (_, _) => true);
        Assert.Equal(3, Count(await DeploymentAsync(id), "success"));
        // The deployment reads finished from the activity that wrote it; the orchestration completes right after.
        await Eventually.WaitAsync(async () => (await client.GetInstanceAsync(instance))!.RuntimeStatus,
            status => status == Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, Timeout, "the orchestration to complete");
    }

    [Fact]
    public async Task An_orchestration_whose_deployment_never_appears_can_be_terminated_and_purged()
    {
        var instance = OrchestrationIds.Deployment(Tenant.TenantId, Tenant.Server.Services.GetRequiredService<DeploymentStore>().NewId());
        await using var client = TaskHubClient.For(Tenant.Server);
        await client.ScheduleNewOrchestrationInstanceAsync(DeploymentOrchestration.Name, new DeploymentState(Tenant.TenantId, instance.Split(':')[^1], 1),
            new StartOrchestrationOptions(instance));
        await Eventually.WaitAsync(async () => (await client.GetInstanceAsync(instance))?.RuntimeStatus,
            s => s == Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Running, Timeout, "the orchestration to wait for its deployment");

        // No active deployment behind it: the operator may end it.
        using var admin = Tenant.Server.Client(await Tenant.CreateKeyAsync(ServerlessFleet.Shared.Auth.Scopes.FleetAdmin));
        await (await admin.DeleteAsync($"/api/v1/orchestrations/{instance}")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await admin.PostAsync($"/api/v1/orchestrations/{instance}:terminate", null)).AssertStatusAsync(HttpStatusCode.Accepted);
        await Eventually.WaitAsync(async () => (await (await admin.GetAsync($"/api/v1/orchestrations/{instance}")).JsonAsync()).GetProperty("runtimeStatus").GetString(),
            s => s == "Terminated", Timeout, "terminated");
        // A timer the orchestration had set before it was terminated may still fire once; the engine then writes the
        // instance's status row again, so a purge made before that is repeated until the instance stays gone.
        await Eventually.WaitAsync(async () =>
        {
            using var purged = await admin.DeleteAsync($"/api/v1/orchestrations/{instance}");
            if (purged.StatusCode != HttpStatusCode.NotFound) await purged.AssertStatusAsync(HttpStatusCode.NoContent);
            return await client.GetInstanceAsync(instance);
        }, gone => gone is null, Timeout, "the orchestration to be purged");
    }

    [Fact]
    public async Task A_failing_activity_is_retried_by_its_policy()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 1, "ctl-f", "ctl-flaky");
        await UploadArtifactAsync("fw", "3.3.0", "screen");
        // Every write to this tenant's deployment rows fails six times: more than the storage client's own retries, so the
        // status activity fails and the orchestration's retry policy runs it again.
        var fault = Tenant.Server.Tables.FailNext((method, address) => method != "GET"
            && Uri.UnescapeDataString(address.AbsolutePath).Contains($"deployments(PartitionKey='{Tenant.TenantId}'"), 6);
        var id = (await CreateAsync(new { name = "flaky", release = new { name = "fw", version = "3.3.0" }, target = new { group = "ctl-flaky" } }))
            .GetProperty("id").GetString()!;
        await RunFleetAsync(id, devices, (_, _) => true);
        Assert.Equal(6, fault.Injected);
        Assert.Equal(1, Count(await DeploymentAsync(id), "success"));
    }
}
