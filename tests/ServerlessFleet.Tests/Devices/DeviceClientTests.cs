using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using ServerlessFleet.DeviceClient;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Tests.Deployments;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Devices;

/// <summary>The device client library as devices use it: its README example run as a program with reflection-based JSON off.</summary>
public sealed partial class DeviceClientTests() : DeploymentTestBase("client")
{
    private static readonly string ExampleDirectory = Path.Combine(RepositoryRoot.Find(), "tools", "ServerlessFleet.DeviceClient.Example");

    [Fact]
    public void The_readme_example_is_the_program_the_test_runs()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "tools", "ServerlessFleet.DeviceClient", "README.md"));
        var example = CSharpBlock().Match(readme);
        Assert.True(example.Success, "The README has a csharp example.");
        Assert.Equal(File.ReadAllText(Path.Combine(ExampleDirectory, "Program.cs")).ReplaceLineEndings().Trim(), example.Groups[1].Value.ReplaceLineEndings().Trim());
    }

    [Fact]
    public async Task The_readme_example_authenticates_installs_a_verified_update_and_confirms_an_action()
    {
        var serial = $"example-{Guid.NewGuid():n}"[..20];
        var keyFile = Path.Combine(Path.GetTempPath(), $"{serial}.pem");
        using (var key = DeviceKey.Generate(KeyAlgorithm.Ed25519))
        {
            await File.WriteAllTextAsync(keyFile, key.ExportPrivateKeyPem());
            await (await Owner.PostAsJsonAsync("/api/v1/device-auth/preauthorize", new { identity = new { serial, device_type = "example-board" }, publicKey = key.PublicKeyPem }))
                .AssertStatusAsync(HttpStatusCode.Created);
        }
        await UploadArtifactAsync("example-fw", "2.0", "example-board");
        var deployment = (await CreateAsync(new { name = "example", release = new { name = "example-fw", version = "2.0" }, target = new { devices = new[] { serial } } }))
            .GetProperty("id").GetString()!;
        await (await Owner.PostAsJsonAsync("/api/v1/actions", new { type = "reboot", devices = new[] { serial } })).AssertStatusAsync(HttpStatusCode.Accepted);
        await Eventually.WaitAsync(async () => (await RecordsAsync(deployment)).Single().OfferedAt, offered => offered is not null, Timeout, "the update offered");
        await Eventually.WaitAsync(() => DeviceActionStatusAsync(serial), status => status == "pending", Timeout, "the action in the device's inbox");

        try
        {
            var (exit, output) = await RunExampleAsync(Tenant.Server.BaseAddress.ToString(), await Tenant.TenantTokenAsync(), serial, keyFile);
            Assert.True(exit == 0, output);
            Assert.Contains("installed example-fw 2.0", output);
            Assert.Contains("action 1: reboot", output);
        }
        finally
        {
            File.Delete(keyFile);
        }
        Assert.Equal(DeviceDeploymentStatuses.Success, (await RecordsAsync(deployment)).Single().Status);
        Assert.Equal("succeeded", await DeviceActionStatusAsync(serial));
        var device = await (await Owner.GetAsync($"/api/v1/devices/{serial}")).JsonAsync();
        Assert.Equal("example-board", device.GetProperty("deviceType").GetString());
    }

    [Fact]
    public async Task A_download_that_does_not_match_the_offer_is_refused()
    {
        var device = (await TestDevices.SeedAdmittedAsync(Tenant, 1, "verify"))[0];
        var artifact = await UploadArtifactAsync("verify-fw", "1.0", "screen");
        var link = await (await Owner.GetAsync($"/api/v1/artifacts/{artifact}/download")).JsonAsync();
        var uri = new Uri(link.GetProperty("uri").GetString()!);
        var size = "verify-fw 1.0 payload".Length;
        var genuine = new OfferedArtifact("verify-fw", "1.0", uri, DateTimeOffset.UtcNow.AddMinutes(5),
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("verify-fw 1.0 payload"u8)), size, ["screen"]);

        using (var intact = new MemoryStream())
        {
            await device.DownloadAsync(genuine, intact);
            Assert.Equal(size, intact.Length);
        }
        await Assert.ThrowsAsync<ArtifactVerificationException>(() => device.DownloadAsync(genuine with { Sha256 = new string('0', 64) }, Stream.Null));
        await Assert.ThrowsAsync<ArtifactVerificationException>(() => device.DownloadAsync(genuine with { Size = size - 1 }, Stream.Null));
        await Assert.ThrowsAsync<ArtifactVerificationException>(() => device.DownloadAsync(genuine with { Size = size + 1 }, Stream.Null));
    }

    [Fact]
    public async Task Typed_calls_raise_the_contract_error_with_its_fields()
    {
        var device = (await TestDevices.SeedAdmittedAsync(Tenant, 1, "typed"))[0];
        var error = await Assert.ThrowsAsync<FleetApiException>(() => device.SendTelemetryAsync([new TelemetrySample("battery", DateTimeOffset.UtcNow, 250)]));
        Assert.Equal((HttpStatusCode.BadRequest, "validation_error"), (error.Status, error.ErrorType));
        Assert.Contains("samples[0]", error.Errors.Keys);
        var missing = await Assert.ThrowsAsync<FleetApiException>(() => device.ReportStatusAsync("0123456789abcdef", DeploymentStatus.Downloading));
        Assert.Equal("not_found", missing.ErrorType);
        Assert.Null((await device.PollAsync()).Deployment);
    }

    [Theory]
    [InlineData(KeyAlgorithm.Ed25519)]
    [InlineData(KeyAlgorithm.EcdsaP256)]
    [InlineData(KeyAlgorithm.Rsa2048)]
    public void A_key_kept_as_pem_signs_as_the_original(KeyAlgorithm algorithm)
    {
        using var original = DeviceKey.Generate(algorithm);
        using var restored = DeviceKey.ImportPem(original.ExportPrivateKeyPem());
        Assert.Equal(algorithm, restored.Algorithm);
        Assert.Equal(original.PublicKeyPem, restored.PublicKeyPem);
        Assert.Throws<FormatException>(() => DeviceKey.ImportPem(original.PublicKeyPem));
    }

    /// <summary>The status of the device's one inbox entry (pending until the device answers), null before delivery.</summary>
    private async Task<string?> DeviceActionStatusAsync(string serial) =>
        (await (await Owner.GetAsync($"/api/v1/devices/{serial}/actions")).JsonAsync()).GetProperty("data").EnumerateArray()
            .Select(a => a.GetProperty("status").GetString()).SingleOrDefault();

    private static Task<(int Exit, string Output)> RunExampleAsync(params string[] args)
    {
        var program = Path.Combine(LocalHostProcess.BuildOutput("tools/ServerlessFleet.DeviceClient.Example", "ServerlessFleet.DeviceClient.Example"),
            "ServerlessFleet.DeviceClient.Example.dll");
        return ChildProcess.RunAsync(new ProcessStartInfo("dotnet", [program, .. args]), TimeSpan.FromSeconds(90));
    }

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
