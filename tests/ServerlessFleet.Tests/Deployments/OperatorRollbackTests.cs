using System.Net;
using System.Net.Http.Json;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>An operator rolling back a release: only once the deployment is over, only to a named release, only its installed devices.</summary>
public sealed class OperatorRollbackTests() : DeploymentTestBase("oprb")
{
    [Fact]
    public async Task An_aborted_deployment_is_rolled_back_to_the_named_release_on_the_devices_that_installed_it()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 2, "oprb");
        await UploadArtifactAsync("fw-oprb", "1.0", "screen");
        await UploadArtifactAsync("fw-oprb", "2.0", "screen");
        var id = (await CreateAsync(new { name = "bad", release = new { name = "fw-oprb", version = "2.0" }, target = new { devices = devices.Select(d => d.Serial) } }))
            .GetProperty("id").GetString()!;
        await WaitOfferedAsync(id, devices);
        await InstallAsync(devices[0], id, true);

        // While it runs, it is aborted first; then a release must be named, since its policy names none.
        await (await Owner.PostAsJsonAsync($"/api/v1/deployments/{id}:rollback", new { release = new { name = "fw-oprb", version = "1.0" } }))
            .AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await Owner.PostAsync($"/api/v1/deployments/{id}:abort", null)).AssertStatusAsync(HttpStatusCode.OK);
        await WaitForStatusAsync(id, "aborted");
        await (await Owner.PostAsJsonAsync($"/api/v1/deployments/{id}:rollback", new { })).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");

        var rolledBack = await (await Owner.PostAsJsonAsync($"/api/v1/deployments/{id}:rollback", new { release = new { name = "fw-oprb", version = "1.0" } }))
            .AssertStatusAsync(HttpStatusCode.Accepted);
        var rollback = await rolledBack.JsonAsync();
        Assert.Equal($"/api/v1/deployments/{id}r", rolledBack.Headers.Location!.ToString());
        Assert.Equal((id, 1, "1.0"), (rollback.GetProperty("rollbackOf").GetString(), rollback.GetProperty("deviceCount").GetInt32(),
            rollback.GetProperty("artifacts")[0].GetProperty("version").GetString()));
        Assert.Equal($"{id}r", (await DeploymentAsync(id)).GetProperty("rolledBackBy").GetString());
        // A repeat answers with the same rollback; the device that installed the bad release is offered the good one.
        var again = await (await (await Owner.PostAsJsonAsync($"/api/v1/deployments/{id}:rollback", new { release = new { name = "fw-oprb", version = "1.0" } }))
            .AssertStatusAsync(HttpStatusCode.Accepted)).JsonAsync();
        Assert.Equal($"{id}r", again.GetProperty("id").GetString());
        Assert.Equal($"{id}r", await Eventually.WaitAsync(() => PollAsync(devices[0]), offered => offered is not null, Timeout, "the rollback offered"));
    }
}
