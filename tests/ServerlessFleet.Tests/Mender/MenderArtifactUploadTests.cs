using System.Net;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Mender;

/// <summary>Uploading a .mender file: its metadata comes from the file itself, and a damaged file is refused with what is wrong.</summary>
public sealed class MenderArtifactUploadTests() : TenantScopedTests("mender-up")
{
    private static readonly byte[] Payload = System.Text.Encoding.UTF8.GetBytes("an ext4 image, in spirit");

    [Theory]
    [InlineData(3, true)]
    [InlineData(3, false)]
    [InlineData(2, true)]
    public async Task A_valid_artifact_registers_with_the_metadata_it_carries(int formatVersion, bool gzipHeader)
    {
        var name = $"release-v{formatVersion}-{(gzipHeader ? "gz" : "tar")}";
        var file = MenderArtifacts.Build(name, "raspberrypi4", Payload, new MenderArtifacts.Options { FormatVersion = formatVersion, GzipHeader = gzipHeader });
        var created = await (await (await Owner.PostAsync("/api/v1/artifacts", MenderArtifacts.Form(file))).AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
        Assert.Equal((name, name, "os"), (created.GetProperty("name").GetString(), created.GetProperty("version").GetString(), created.GetProperty("kind").GetString()));
        Assert.Equal(["raspberrypi4"], created.GetProperty("deviceTypesCompatible").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(file.Length, created.GetProperty("size").GetInt64());
        if (formatVersion == 3) Assert.Equal(name, created.GetProperty("provides").GetProperty("rootfs-image.version").GetString());
    }

    [Fact]
    public async Task Form_fields_may_add_to_the_artifact_but_not_contradict_it()
    {
        var file = MenderArtifacts.Build("release-fields", "rpi", Payload);
        var form = MenderArtifacts.Form(file);
        form.Add(new StringContent("firmware"), "kind");
        form.Add(new StringContent("2.1"), "version");
        var created = await (await (await Owner.PostAsync("/api/v1/artifacts", form)).AssertStatusAsync(HttpStatusCode.Created)).JsonAsync();
        Assert.Equal(("firmware", "2.1"), (created.GetProperty("kind").GetString(), created.GetProperty("version").GetString()));

        var contradicting = MenderArtifacts.Form(MenderArtifacts.Build("release-other", "rpi", Payload));
        contradicting.Add(new StringContent("not-the-name"), "name");
        var error = await (await Owner.PostAsync("/api/v1/artifacts", contradicting)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.True(error.GetProperty("errors").TryGetProperty("name", out _));
    }

    public static TheoryData<string, string> Damaged => new()
    {
        { "wrong-version", "format version 4 is not supported" },
        { "truncated", "not a readable Mender Artifact" },
        { "no-device-types", "device_type" },
        { "altered-payload", "does not match its checksum" },
        { "not-a-tar", "not a readable Mender Artifact" },
    };

    [Theory, MemberData(nameof(Damaged))]
    public async Task A_damaged_artifact_is_refused_with_what_is_wrong_and_nothing_is_kept(string damage, string expected)
    {
        var file = damage switch
        {
            "wrong-version" => MenderArtifacts.Build("release-bad", "rpi", Payload, new MenderArtifacts.Options { FormatVersion = 4 }),
            "truncated" => MenderArtifacts.Build("release-bad", "rpi", Payload)[..1700],
            "no-device-types" => MenderArtifacts.Build("release-bad", "rpi", Payload, new MenderArtifacts.Options { WithDeviceTypes = false }),
            "altered-payload" => MenderArtifacts.Build("release-bad", "rpi", Payload, new MenderArtifacts.Options { ManifestPayloadSha256 = new string('a', 64) }),
            _ => "just some text"u8.ToArray(),
        };
        var error = await (await Owner.PostAsync("/api/v1/artifacts", MenderArtifacts.Form(file))).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.Contains(expected, string.Join(" ", error.GetProperty("errors").GetProperty("file").EnumerateArray().Select(m => m.GetString())));
        var listed = await (await Owner.GetAsync("/api/v1/artifacts")).JsonAsync();
        Assert.DoesNotContain(listed.GetProperty("data").EnumerateArray(), a => a.GetProperty("name").GetString() == "release-bad");
    }
}
