using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.Tests.Deployments;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Mender;

/// <summary>The Mender-compatible device API, driven with the exact requests unmodified Mender clients send.</summary>
public sealed class MenderFacadeTests() : DeploymentTestBase("mender")
{
    private const string DeviceType = "mender-board";

    public static TheoryData<KeyAlgorithm, MenderFlavour> Clients => new()
    {
        { KeyAlgorithm.Rsa3072, MenderFlavour.Go353 },
        { KeyAlgorithm.EcdsaP256, MenderFlavour.Go353 },
        { KeyAlgorithm.Ed25519, MenderFlavour.Cpp },
    };

    [Theory, MemberData(nameof(Clients))]
    public async Task A_mender_client_enrols_updates_from_a_mender_artifact_and_reports_like_mender(KeyAlgorithm algorithm, MenderFlavour flavour)
    {
        var release = $"release-{algorithm}".ToLowerInvariant();
        var payload = System.Text.Encoding.UTF8.GetBytes($"root filesystem of {release}");
        var artifact = MenderArtifacts.Build(release, DeviceType, payload);
        await (await Owner.PostAsync("/api/v1/artifacts", MenderArtifacts.Form(artifact))).AssertStatusAsync(HttpStatusCode.Created);

        var client = NewClient(flavour, algorithm, await Tenant.TenantTokenAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.AuthenticateAsync()).StatusCode);
        await TestDevices.AcceptAsync(Tenant, client.Mac);
        var auth = await client.AuthenticateAsync();
        Assert.Equal(HttpStatusCode.OK, auth.StatusCode);
        Assert.Equal("application/jwt", auth.Content.Headers.ContentType!.MediaType);
        Assert.Equal(3, client.Token!.Split('.').Length);

        await (await client.PutInventoryAsync(new object[]
        {
            new { name = "device_type", value = DeviceType },
            new { name = "artifact_name", value = "release-0" },
            new { name = "mender_client_version", value = "3.5.3", description = "client" },
            new { name = "ipv4_eth0", value = new[] { "10.0.0.2/24" } },
            new { name = "mem_total_kB", value = 1024000 },
        })).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Null(await client.PollAsync("release-0", DeviceType));

        var id = (await CreateAsync(new { name = release, release = new { name = release, version = release }, target = new { devices = new[] { client.Mac } } }))
            .GetProperty("id").GetString()!;
        var instructions = await Eventually.WaitAsync(() => client.PollAsync("release-0", DeviceType), offer => offer is not null, Timeout, "the update offered");
        Assert.Equal(id, instructions!.Value.GetProperty("id").GetString());
        var offered = instructions.Value.GetProperty("artifact");
        Assert.Equal(release, offered.GetProperty("artifact_name").GetString());
        Assert.Equal([DeviceType], offered.GetProperty("device_types_compatible").EnumerateArray().Select(t => t.GetString()));
        Assert.True(offered.GetProperty("source").GetProperty("expire").GetDateTimeOffset() > DateTimeOffset.UtcNow);

        using var storage = new HttpClient();
        var downloaded = await storage.GetByteArrayAsync(offered.GetProperty("source").GetProperty("uri").GetString());
        var (manifestSha, payloadSha) = MenderArtifacts.ManifestAndPayloadChecksums(downloaded);
        Assert.Equal(manifestSha, payloadSha);

        foreach (var status in new[] { "downloading", "installing", "rebooting", "success" })
            await (await client.StatusAsync(id, status)).AssertStatusAsync(HttpStatusCode.NoContent);
        await WaitForStatusAsync(id, "finished");
        // A client drops its token after an update and authenticates again.
        Assert.Equal(HttpStatusCode.OK, (await client.AuthenticateAsync()).StatusCode);
        Assert.Null(await client.PollAsync(release, DeviceType));

        var device = await (await Owner.GetAsync($"/api/v1/devices/{client.Mac}")).JsonAsync();
        Assert.Equal((DeviceType, release), (device.GetProperty("deviceType").GetString(), device.GetProperty("release").GetString()));
        Assert.Equal(flavour == MenderFlavour.Go353 ? "POST v2" : "GET v1", client.PollsTried.Distinct().Single());
    }

    [Fact]
    public async Task A_failed_update_uploads_its_log_and_a_report_after_abort_is_refused_as_mender_does()
    {
        await (await Owner.PostAsync("/api/v1/artifacts", MenderArtifacts.Form(MenderArtifacts.Build("release-fail", DeviceType, [1, 2, 3])))).AssertStatusAsync(HttpStatusCode.Created);
        var clients = new[] { await AdmittedAsync(MenderFlavour.Go353), await AdmittedAsync(MenderFlavour.Cpp) };
        var id = (await CreateAsync(new { name = "fail", release = new { name = "release-fail", version = "release-fail" },
            target = new { devices = clients.Select(c => c.Mac) } })).GetProperty("id").GetString()!;
        await Eventually.WaitAsync(() => clients[0].PollAsync("release-0", DeviceType), offer => offer is not null, Timeout, "the update offered");

        await (await clients[0].StatusAsync(id, "downloading")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await clients[0].StatusAsync(id, "failure")).AssertStatusAsync(HttpStatusCode.NoContent);
        await (await clients[0].LogAsync(id, "ArtifactInstall: write failed", "rolling back")).AssertStatusAsync(HttpStatusCode.NoContent);
        var log = await (await Owner.GetAsync($"/api/v1/deployments/{id}/devices/{clients[0].Mac}/log")).JsonAsync();
        Assert.Equal(["ArtifactInstall: write failed", "rolling back"], log.EnumerateArray().Select(m => m.GetProperty("message").GetString()));

        await (await Owner.PostAsync($"/api/v1/deployments/{id}:abort", null)).AssertStatusAsync(HttpStatusCode.OK);
        await Eventually.WaitAsync(() => RecordsAsync(id), records => records.Single(r => r.Serial == clients[1].Mac).Status == "aborted", Timeout, "the device aborted");
        var refused = await clients[1].StatusAsync(id, "downloading");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("Status already set to aborted", body.GetProperty("error").GetString());
        Assert.Equal(refused.Headers.GetValues("X-MEN-RequestID").Single(), body.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task Errors_and_request_ids_follow_mender_and_unsupported_features_say_so()
    {
        var client = await AdmittedAsync(MenderFlavour.Cpp);
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/devices/v1/deployments/device/deployments/next?device_type=x");
        request.Headers.Authorization = new("Bearer", client.Token);
        request.Headers.Add("X-MEN-RequestID", "mender-req-1");
        var missing = await Tenant.Server.Client().SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("mender-req-1", missing.Headers.GetValues("X-MEN-RequestID").Single());
        var error = await missing.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("artifact_name", error.GetProperty("error").GetString());
        Assert.Equal("mender-req-1", error.GetProperty("request_id").GetString());
        Assert.False(error.TryGetProperty("type", out _));

        foreach (var path in new[] { "/api/devices/v1/deviceconfig/configuration", "/api/devices/v1/deviceconnect/connect",
            "/api/devices/v2/deployments/device/deployments/0123/update_control_map" })
        {
            var answer = await client.SendAsync(HttpMethod.Get, path, null);
            Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
            Assert.Contains("not offered", (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        var v1Post = await client.SendAsync(HttpMethod.Post, "/api/devices/v1/deployments/device/deployments/next",
            new { artifact_name = "release-0", device_type = DeviceType, rootfs_image_checksum = "abc" });
        Assert.Equal(HttpStatusCode.NoContent, v1Post.StatusCode);

        var mixed = await client.PutInventoryAsync(new object[] { new { name = "bad", value = new object[] { "a", 1 } } });
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        using var anonymous = Tenant.Server.Client();
        var noIdData = await anonymous.PostAsJsonAsync("/api/devices/v1/authentication/auth_requests", new { pubkey = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, noIdData.StatusCode);
        Assert.Contains("missing required parameter: id_data", (await noIdData.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        var forged = new MenderClient(Tenant.Server.Client(), MenderFlavour.Go353, "00:00:00:00:00:01", DeviceKey.Generate(KeyAlgorithm.Ed25519), "tt_unknown");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.AuthenticateAsync()).StatusCode);
    }

    [Fact]
    public async Task The_mender_poll_with_nothing_due_is_one_storage_read_and_no_write()
    {
        var client = await AdmittedAsync(MenderFlavour.Go353);
        var counter = Tenant.Server.Services.GetRequiredService<ServerlessFleet.Shared.Storage.StorageRequestCounter>();
        var partition = ServerlessFleet.Shared.Devices.DeviceKeys.Partition(Tenant.TenantId, client.Mac);
        var table = ServerlessFleet.Shared.Devices.DeviceKeys.TableName;
        // The first poll names a release the row does not record yet: that is written once.
        var (reads, writes) = (counter.EntityReads(table, partition), counter.EntityWrites(table, partition));
        Assert.Null(await client.PollAsync("release-0", DeviceType));
        Assert.Equal(1, counter.EntityWrites(table, partition) - writes);
        (reads, writes) = (counter.EntityReads(table, partition), counter.EntityWrites(table, partition));
        for (var i = 0; i < 10; i++) Assert.Null(await client.PollAsync("release-0", DeviceType));
        Assert.Equal((10, 0), (counter.EntityReads(table, partition) - reads, counter.EntityWrites(table, partition) - writes));
    }

    [Fact]
    public async Task Devices_whose_type_only_their_polls_name_get_the_artifact_for_it_and_their_rows_learn_it()
    {
        // One release, an artifact for each of two boards; three devices that never report a device_type in inventory.
        foreach (var board in new[] { "board-a", "board-b" })
            await (await Owner.PostAsync("/api/v1/artifacts", MenderArtifacts.Form(MenderArtifacts.Build("release-multi", board, [1, 2, 3])))).AssertStatusAsync(HttpStatusCode.Created);
        var devices = new Dictionary<string, MenderClient>();
        foreach (var board in new[] { "board-a", "board-b", "board-c" }) devices[board] = await AdmittedAsync(MenderFlavour.Cpp, inventoryType: null);
        Assert.All(devices.Values, d => Assert.Equal(JsonValueKind.Null, DeviceAsync(d).Result.GetProperty("deviceType").ValueKind));

        var id = (await CreateAsync(new { name = "multi", release = new { name = "release-multi", version = "release-multi" },
            target = new { devices = devices.Values.Select(d => d.Mac).ToArray() } })).GetProperty("id").GetString()!;
        foreach (var board in new[] { "board-a", "board-b" })
        {
            var offer = await Eventually.WaitAsync(() => devices[board].PollAsync("release-0", board), o => o is not null, Timeout, $"the {board} artifact offered");
            Assert.Equal([board], offer!.Value.GetProperty("artifact").GetProperty("device_types_compatible").EnumerateArray().Select(t => t.GetString()));
            foreach (var status in new[] { "downloading", "installing", "rebooting", "success" })
                await (await devices[board].StatusAsync(id, status)).AssertStatusAsync(HttpStatusCode.NoContent);
        }
        // No artifact of the release fits the third board: its poll settles it as noartifact, as Mender's server does.
        await Eventually.WaitAsync(async () =>
        {
            Assert.Null(await devices["board-c"].PollAsync("release-0", "board-c"));
            return (await RecordsAsync(id)).Single(r => r.Serial == devices["board-c"].Mac).Status;
        }, s => s == "noartifact", Timeout, "noartifact");

        var done = await WaitForStatusAsync(id, "finished");
        Assert.Equal((2, 1), (Count(done, "success"), Count(done, "noartifact")));
        foreach (var (board, device) in devices)
        {
            var row = await DeviceAsync(device);
            Assert.Equal(board, row.GetProperty("deviceType").GetString());
            Assert.Equal(board == "board-c" ? "release-0" : "release-multi", row.GetProperty("release").GetString());
        }
    }

    private async Task<JsonElement> DeviceAsync(MenderClient device) => await (await Owner.GetAsync($"/api/v1/devices/{device.Mac}")).JsonAsync();

    [Fact]
    public async Task A_mender_device_and_a_native_device_finish_one_phased_deployment_together()
    {
        var artifact = MenderArtifacts.Build("release-mixed", DeviceType, [9, 9, 9]);
        await (await Owner.PostAsync("/api/v1/artifacts", MenderArtifacts.Form(artifact))).AssertStatusAsync(HttpStatusCode.Created);
        var mender = await AdmittedAsync(MenderFlavour.Go353);
        var native = await TestDevices.AdmittedAsync(Tenant);
        await (await native.PatchInventoryAsync([("device_type", DeviceType)])).AssertStatusAsync(HttpStatusCode.NoContent);
        var id = (await CreateAsync(new
        {
            name = "mixed", release = new { name = "release-mixed", version = "release-mixed" },
            target = new { devices = new[] { mender.Mac, native.Serial } },
            phases = new object[] { new { batchSize = 1 }, new { batchSize = 1 } },
        })).GetProperty("id").GetString()!;

        var finished = new HashSet<string>();
        await Eventually.WaitAsync(async () =>
        {
            if (!finished.Contains(mender.Mac) && await mender.PollAsync("release-0", DeviceType) is { } offer)
            {
                foreach (var status in new[] { "downloading", "installing", "rebooting", "success" })
                    await (await mender.StatusAsync(offer.GetProperty("id").GetString()!, status)).AssertStatusAsync(HttpStatusCode.NoContent);
                finished.Add(mender.Mac);
            }
            if (!finished.Contains(native.Serial) && await PollAsync(native, $"?deviceType={DeviceType}") is { } nativeOffer)
            {
                await InstallAsync(native, nativeOffer, true);
                finished.Add(native.Serial);
            }
            return finished.Count;
        }, count => count == 2, Timeout, "both devices updated");
        var done = await WaitForStatusAsync(id, "finished");
        Assert.Equal(2, Count(done, "success"));
        Assert.Equal([0, 1], (await RecordsAsync(id)).Select(r => r.Phase).Order());
    }

    private MenderClient NewClient(MenderFlavour flavour, KeyAlgorithm algorithm, string tenantToken) =>
        new(Tenant.Server.Client(), flavour, string.Join(':', Guid.NewGuid().ToByteArray()[..6].Select(b => b.ToString("x2"))), DeviceKey.Generate(algorithm), tenantToken);

    private async Task<MenderClient> AdmittedAsync(MenderFlavour flavour, string? inventoryType = DeviceType)
    {
        var client = NewClient(flavour, KeyAlgorithm.Ed25519, await Tenant.TenantTokenAsync());
        await client.AuthenticateAsync();
        await TestDevices.AcceptAsync(Tenant, client.Mac);
        Assert.Equal(HttpStatusCode.OK, (await client.AuthenticateAsync()).StatusCode);
        if (inventoryType is not null)
            await (await client.PutInventoryAsync(new object[] { new { name = "device_type", value = inventoryType } })).AssertStatusAsync(HttpStatusCode.OK);
        return client;
    }
}
