using System.Formats.Tar;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ServerlessFleet.Tests.Mender;

/// <summary>
/// Builds Mender Artifacts as mender-artifact writes them: an uncompressed tar of <c>version</c>, <c>manifest</c>,
/// <c>header.tar[.gz]</c> and <c>data/0000.tar[.gz]</c>, the manifest holding the sha256 of each.
/// </summary>
public static class MenderArtifacts
{
    public const string PayloadName = "rootfs.ext4";

    public sealed record Options
    {
        public int FormatVersion { get; init; } = 3;
        public bool GzipHeader { get; init; } = true;
        public bool WithDeviceTypes { get; init; } = true;
        public string? ManifestPayloadSha256 { get; init; }
    }

    public static byte[] Build(string artifactName, string deviceType, byte[] payload, Options? options = null)
    {
        options ??= new Options();
        var version = Encoding.UTF8.GetBytes($"{{\"format\":\"mender\",\"version\":{options.FormatVersion}}}");
        var header = Tar(new Dictionary<string, byte[]>
        {
            ["header-info"] = Encoding.UTF8.GetBytes(HeaderInfo(artifactName, deviceType, options).ToJsonString()),
            ["headers/0000/type-info"] = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["type"] = "rootfs-image",
                ["artifact_provides"] = new JsonObject { ["rootfs-image.version"] = artifactName },
            }.ToJsonString()),
        });
        if (options.GzipHeader) header = Gzip(header);
        var headerName = options.GzipHeader ? "header.tar.gz" : "header.tar";
        var data = Gzip(Tar(new Dictionary<string, byte[]> { [PayloadName] = payload }));
        var manifest = Encoding.UTF8.GetBytes(
            $"{Sha(version)}  version\n{Sha(header)}  {headerName}\n{options.ManifestPayloadSha256 ?? Sha(payload)}  data/0000/{PayloadName}\n");
        return Tar(new Dictionary<string, byte[]>
        {
            ["version"] = version,
            ["manifest"] = manifest,
            [headerName] = header,
            ["data/0000.tar.gz"] = data,
        });
    }

    /// <summary>The upload form with the artifact as its only part: everything else comes from the file.</summary>
    public static MultipartFormDataContent Form(byte[] artifact, string fileName = "release.mender")
    {
        var content = new ByteArrayContent(artifact);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.mender-artifact");
        return new MultipartFormDataContent { { content, "file", fileName } };
    }

    /// <summary>What a client checks after downloading: the payload's sha256 against the artifact's own manifest.</summary>
    public static (string ManifestSha256, string PayloadSha256) ManifestAndPayloadChecksums(byte[] artifact)
    {
        string? manifestSha = null, payloadSha = null;
        using var reader = new TarReader(new MemoryStream(artifact));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.Name == "manifest")
                manifestSha = new StreamReader(entry.DataStream!).ReadToEnd().Split('\n').Single(l => l.EndsWith($"data/0000/{PayloadName}"))[..64];
            else if (entry.Name == "data/0000.tar.gz")
            {
                using var inner = new TarReader(new GZipStream(entry.DataStream!, CompressionMode.Decompress));
                payloadSha = Convert.ToHexStringLower(SHA256.HashData(inner.GetNextEntry()!.DataStream!));
            }
        }
        return (manifestSha!, payloadSha!);
    }

    private static JsonObject HeaderInfo(string artifactName, string deviceType, Options options) => options.FormatVersion == 2
        ? new JsonObject
        {
            ["updates"] = new JsonArray(new JsonObject { ["type"] = "rootfs-image" }),
            ["artifact_name"] = artifactName,
            ["device_types_compatible"] = options.WithDeviceTypes ? new JsonArray(deviceType) : null,
        }
        : new JsonObject
        {
            ["payloads"] = new JsonArray(new JsonObject { ["type"] = "rootfs-image" }),
            ["artifact_provides"] = new JsonObject { ["artifact_name"] = artifactName },
            ["artifact_depends"] = options.WithDeviceTypes ? new JsonObject { ["device_type"] = new JsonArray(deviceType) } : new JsonObject(),
        };

    private static byte[] Tar(IReadOnlyDictionary<string, byte[]> files)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Ustar, leaveOpen: true))
            foreach (var (name, bytes) in files)
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) });
        return buffer.ToArray();
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(bytes);
        return buffer.ToArray();
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
