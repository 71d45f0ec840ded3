using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>The device side of deployments, creation rules and the hooks into artifacts and devices.</summary>
public sealed class DeviceDeploymentTests() : DeploymentTestBase("ddep")
{
    [Fact]
    public async Task The_no_update_poll_is_one_storage_read_and_no_write()
    {
        var device = await TestDevices.AdmittedAsync(Tenant);
        Assert.Null(await PollAsync(device));
        var counter = Tenant.Server.Services.GetRequiredService<StorageRequestCounter>();
        var partition = DeviceKeys.Partition(Tenant.TenantId, device.Serial);
        var before = counter.Snapshot();
        var (reads, writes) = (counter.EntityReads(DeviceKeys.TableName, partition), counter.EntityWrites(DeviceKeys.TableName, partition));
        for (var i = 0; i < 10; i++)
        {
            var response = await device.SendOnceAsync(HttpMethod.Get, "/api/device/v1/deployments/next?artifactName=fw&deviceType=screen", null, default);
            await response.AssertStatusAsync(HttpStatusCode.NoContent);
            Assert.InRange(int.Parse(response.Headers.GetValues("X-Poll-After").Single()), 4, 6); // Fleet:DevicePollSeconds of the test server, ± 20 % jitter
        }
        Assert.Equal(10, counter.EntityReads(DeviceKeys.TableName, partition) - reads);
        Assert.Equal(0, counter.EntityWrites(DeviceKeys.TableName, partition) - writes);
        // Nothing else of this device was read or written anywhere.
        var touched = counter.Snapshot().Where(c => c.Key.Contains(device.Serial) && c.Value != before.GetValueOrDefault(c.Key)).Select(c => c.Key).ToList();
        Assert.Equal([$"GET {DeviceKeys.TableName} {partition}"], touched);
    }

    [Fact]
    public async Task Status_reports_follow_the_state_machine_and_logs_are_kept()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 2, "sm");
        await UploadArtifactAsync("fw-sm", "1.0", "screen");
        var id = (await CreateAsync(new { name = "states", release = new { name = "fw-sm", version = "1.0" }, target = new { devices = devices.Select(d => d.Serial) } }))
            .GetProperty("id").GetString()!;
        var device = devices[0];
        await WaitOfferedAsync(id, devices);

        await (await ReportAsync(device, id, "success")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await ReportAsync(device, id, "pending")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await ReportAsync(device, id, "installed")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await ReportAsync(device, id, "downloading")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await ReportAsync(device, id, "downloading")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await ReportAsync(device, id, "installing")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await ReportAsync(device, id, "downloading")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await ReportAsync(device, id, "already-installed")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await ReportAsync(device, id, "pause_before_rebooting")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await ReportAsync(device, id, "rebooting")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await ReportAsync(device, id, "success")).AssertStatusAsync(HttpStatusCode.NoContent);
        // A device that lost the answer repeats its final report and gets the same answer; a contradiction is refused.
        await (await ReportAsync(device, id, "success")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await ReportAsync(device, id, "failure")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await ReportAsync(device, id, "installing")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await ReportAsync(device, "0123456789abcdef", "downloading")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
        await (await device.SendOnceAsync(HttpMethod.Put, $"/api/device/v1/deployments/{id}/status", "not an object", default)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");

        var messages = new[] { new { timestamp = DateTimeOffset.UtcNow, level = "info", message = "installing fw-sm 1.0" }, new { timestamp = DateTimeOffset.UtcNow, level = "error", message = "retrying" } };
        await (await device.SendOnceAsync(HttpMethod.Put, $"/api/device/v1/deployments/{id}/log", new { messages }, default)).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await device.SendOnceAsync(HttpMethod.Put, $"/api/device/v1/deployments/{id}/log", new { messages = Array.Empty<object>() }, default))
            .AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        var log = await (await (await Owner.GetAsync($"/api/v1/deployments/{id}/devices/{device.Serial}/log")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal(["installing fw-sm 1.0", "retrying"], log.EnumerateArray().Select(m => m.GetProperty("message").GetString()));
        await (await Owner.GetAsync($"/api/v1/deployments/{id}/devices/{devices[1].Serial}/log")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");

        var record = (await RecordsAsync(id)).Single(r => r.Serial == device.Serial);
        Assert.Equal(DeviceDeploymentStatuses.Success, record.Status);
        Assert.NotNull(record.StartedAt);
        Assert.NotNull(record.FinishedAt);
    }

    [Fact]
    public async Task A_device_list_too_long_for_the_deployment_row_lives_on_as_its_records()
    {
        // 600 serials of 58 characters: longer than a deployment keeps (a table property holds 32K characters).
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 600, "long-list-" + new string('x', 42));
        await UploadArtifactAsync("fw-long", "1.0", "screen");
        var created = await CreateAsync(new { name = "long list", release = new { name = "fw-long", version = "1.0" }, target = new { devices = devices.Select(d => d.Serial) } });
        var id = created.GetProperty("id").GetString()!;
        foreach (var deployment in new[] { created, await DeploymentAsync(id) })
        {
            var target = deployment.GetProperty("target");
            Assert.Equal(600, target.GetProperty("listedDevices").GetInt32());
            Assert.False(target.TryGetProperty("devices", out var listed) && listed.ValueKind == JsonValueKind.Array);
            Assert.Equal(600, Count(deployment, "pending"));
        }
        Assert.Equal(600, (await RecordsAsync(id)).Count);
        await WaitOfferedAsync(id, [devices[0], devices[^1]]);
    }

    [Fact]
    public async Task A_device_on_the_artifact_is_already_installed_and_a_wrong_device_type_gets_noartifact()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 3, "ai");
        await UploadArtifactAsync("fw-ai", "3.1", "screen");
        var id = (await CreateAsync(new { name = "installed", release = new { name = "fw-ai", version = "3.1" }, target = new { devices = devices.Select(d => d.Serial) } }))
            .GetProperty("id").GetString()!;
        await WaitOfferedAsync(id, devices);
        Assert.Null(await PollAsync(devices[0], "?artifactName=fw-ai&artifactVersion=3.1&deviceType=screen"));
        Assert.Null(await PollAsync(devices[1], "?artifactName=fw-ai&deviceType=kiosk"));
        Assert.Equal(id, await PollAsync(devices[2], "?artifactName=fw-ai&artifactVersion=3.0&deviceType=screen"));
        await InstallAsync(devices[2], id, true);

        var done = await WaitForStatusAsync(id, DeploymentStatuses.Finished);
        Assert.Equal((1, 1, 1), (Count(done, "already-installed"), Count(done, "noartifact"), Count(done, "success")));
        Assert.Null(await PollAsync(devices[0]));
    }

    [Fact]
    public async Task A_device_takes_its_deployments_one_at_a_time_in_creation_order()
    {
        var device = (await TestDevices.SeedAdmittedAsync(Tenant, 1, "order"))[0];
        await UploadArtifactAsync("fw-a", "1", "screen");
        await UploadArtifactAsync("fw-b", "1", "screen");
        var first = (await CreateAsync(new { name = "a", release = new { name = "fw-a", version = "1" }, target = new { devices = new[] { device.Serial } } })).GetProperty("id").GetString()!;
        var second = (await CreateAsync(new { name = "b", release = new { name = "fw-b", version = "1" }, target = new { devices = new[] { device.Serial } } })).GetProperty("id").GetString()!;
        // Each deployment's orchestration offers on its own schedule; the order holds among offers.
        await Eventually.WaitAsync(async () => (await RecordsAsync(first)).Single().OfferedAt, offered => offered is not null, Timeout, "first deployment offered");
        await Eventually.WaitAsync(async () => (await RecordsAsync(second)).Single().OfferedAt, offered => offered is not null, Timeout, "second deployment queued");

        Assert.Equal(first, await PollAsync(device));
        await (await ReportAsync(device, second, "downloading")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await InstallAsync(device, first, true);
        Assert.Equal(second, await PollAsync(device));
        await InstallAsync(device, second, true);
        Assert.Null(await PollAsync(device));
        await WaitForStatusAsync(second, DeploymentStatuses.Finished);
    }

    [Fact]
    public async Task Creation_is_validated_field_by_field_and_idempotent()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 9, "val", "val");
        await UploadArtifactAsync("fw-val", "1.0", "kiosk");
        await UploadArtifactAsync("fw-ok", "1.0", "screen");
        var release = new { name = "fw-ok", version = "1.0" };
        var target = new { group = "val" };

        async Task<string[]> RejectedFields(object body) =>
            (await (await Owner.PostAsJsonAsync("/api/v1/deployments", body)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error"))
            .GetProperty("errors").EnumerateObject().Select(e => e.Name).ToArray();

        Assert.Contains("phases[0].batchPercent", await RejectedFields(new { name = "x", release, target, phases = new object[] { new { batchPercent = 10 }, new { } } }));
        Assert.Contains("release", await RejectedFields(new { name = "x", release, artifactId = "abc", target }));
        Assert.Contains("target", await RejectedFields(new { name = "x", release, target = new { group = "val", all = true } }));
        Assert.Contains("policy.failureThreshold.action", await RejectedFields(new { name = "x", release, target, policy = new { failureThreshold = new { percent = 10, action = "stop" } } }));
        Assert.Contains("policy.maxDevices", await RejectedFields(new { name = "x", release, target, policy = new { maxDevices = 5 } }));
        Assert.Contains("name", await RejectedFields(new { release, target }));
        await (await Owner.PostAsJsonAsync("/api/v1/deployments", new { name = "x", release = new { name = "fw-val", version = "1.0" }, target }))
            .AssertErrorAsync(HttpStatusCode.UnprocessableEntity, "unprocessable");
        await (await Owner.PostAsJsonAsync("/api/v1/deployments", new { name = "x", release = new { name = "fw-none", version = "1.0" }, target }))
            .AssertErrorAsync(HttpStatusCode.UnprocessableEntity, "unprocessable");
        await (await Owner.PostAsJsonAsync("/api/v1/deployments", new { name = "x", release, target = new { group = "empty" } }))
            .AssertErrorAsync(HttpStatusCode.UnprocessableEntity, "unprocessable");

        var body = new { name = "once", release, target };
        var created = await CreateAsync(body, idempotencyKey: "deploy-once");
        var again = await CreateAsync(body, idempotencyKey: "deploy-once");
        Assert.Equal(created.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        Assert.Equal(1, (await (await Owner.GetAsync("/api/v1/deployments?name=once")).JsonAsync()).GetProperty("data").GetArrayLength());

        using var reader = Tenant.Server.Client(await Tenant.CreateKeyAsync("fleet:read"));
        await (await reader.PostAsJsonAsync("/api/v1/deployments", body)).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await reader.GetAsync($"/api/v1/deployments/{created.GetProperty("id").GetString()}")).AssertStatusAsync(HttpStatusCode.OK);
        var other = await (await FleetServer.Shared).CreateTenantAsync("ddepx");
        using var stranger = other.OwnerClient();
        await (await stranger.GetAsync($"/api/v1/deployments/{created.GetProperty("id").GetString()}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_decommissioned_device_leaves_its_deployment()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 2, "gone");
        await UploadArtifactAsync("fw-gone", "1.0", "screen");
        var id = (await CreateAsync(new { name = "gone", release = new { name = "fw-gone", version = "1.0" }, target = new { devices = devices.Select(d => d.Serial) } }))
            .GetProperty("id").GetString()!;
        await WaitOfferedAsync(id, devices);
        await (await Owner.DeleteAsync($"/api/v1/devices/{devices[0].Serial}")).AssertStatusAsync(HttpStatusCode.NoContent);
        await InstallAsync(devices[1], id, true);
        var done = await WaitForStatusAsync(id, DeploymentStatuses.Finished);
        Assert.Equal((1, 1), (Count(done, "decommissioned"), Count(done, "success")));
        var audit = await (await Owner.GetAsync($"/api/v1/audit-logs?objectType=deployment")).JsonAsync();
        Assert.Contains(audit.GetProperty("data").EnumerateArray(), e => e.GetProperty("action").GetString() == "deployment.create" && e.GetProperty("objectId").GetString() == id);
    }
}
