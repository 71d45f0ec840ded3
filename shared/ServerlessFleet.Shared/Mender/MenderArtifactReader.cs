using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessFleet.Shared.Storage;


namespace ServerlessFleet.Shared.Mender;

public sealed record MenderPayloadFile(string Name, long Size, string Sha256);

/// <summary>What a Mender Artifact says about itself (format 2 or 3), every checksum in its manifest verified.</summary>
public sealed record MenderArtifactInfo(
    int FormatVersion,
    string ArtifactName,
    IReadOnlyList<string> DeviceTypesCompatible,
    IReadOnlyList<string> PayloadTypes,
    JsonObject Provides,
    JsonObject Depends,
    IReadOnlyList<MenderPayloadFile> Files);

/// <summary>An artifact that is not a well-formed Mender Artifact; the message says what is wrong.</summary>
public sealed class MenderArtifactException(string message) : Exception(message);

/// <summary>
/// Reads a Mender Artifact in one forward pass (it may come straight from Blob storage): the outer tar's
/// <c>version</c>, <c>manifest</c>, <c>header.tar[.gz]</c> and <c>data/NNNN.tar[.gz]</c>, hashing each against the
/// manifest, so a file that does not match what its header claims is refused before anything is registered.
/// Signatures (<c>manifest.sig</c>) are not verified.
/// </summary>
public static class MenderArtifactReader
{
    public const string ContentType = "application/vnd.mender-artifact";
    private const int MaxSmallEntryBytes = 1024 * 1024;
    private const int MaxPayloadFiles = 1000;

    /// <summary>An upload that says it is a Mender Artifact, by its name or content type, is read as one.</summary>
    public static bool IsDeclared(string? fileName, string? contentType) =>
        string.Equals(contentType, ContentType, StringComparison.OrdinalIgnoreCase) || (fileName?.EndsWith(".mender", StringComparison.OrdinalIgnoreCase) ?? false);

    public static async Task<MenderArtifactInfo> ReadAsync(Stream artifact, CancellationToken ct)
    {
        try
        {
            return await ReadCheckedAsync(artifact, ct);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or JsonException or ArgumentException or InvalidOperationException)
        {
            throw new MenderArtifactException($"The file is not a readable Mender Artifact: {e.Message}");
        }
    }

    private static async Task<MenderArtifactInfo> ReadCheckedAsync(Stream artifact, CancellationToken ct)
    {
        var reader = new TarReader(artifact);
        int? version = null;
        Dictionary<string, string>? manifest = null;
        Header? header = null;
        var computed = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<MenderPayloadFile>();
        while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            var name = entry.Name;
            if (name == "version")
            {
                var bytes = await ReadSmallAsync(entry, ct);
                computed[name] = Sha(bytes);
                version = ParseVersion(bytes);
            }
            else if (name == "manifest")
            {
                manifest = ParseManifest(Encoding.UTF8.GetString(await ReadSmallAsync(entry, ct)));
            }
            else if (name.StartsWith("header.tar", StringComparison.Ordinal))
            {
                if (version is null || manifest is null) throw new MenderArtifactException("version and manifest must come before the header.");
                await using var hashing = new HashingStream(entry.DataStream!, long.MaxValue);
                header = await ReadHeaderAsync(Decompressed(hashing, name["header.tar".Length..]), version.Value, ct);
                computed[name] = await FinishAsync(hashing, ct);
            }
            else if (name.StartsWith("data/", StringComparison.Ordinal))
            {
                if (header is null || manifest is null) throw new MenderArtifactException("the header must come before the payload data.");
                var index = name["data/".Length..].Split('.')[0];
                var inner = new TarReader(Decompressed(entry.DataStream!, name[("data/" + index + ".tar").Length..]));
                while (await inner.GetNextEntryAsync(copyData: false, ct) is { } file)
                {
                    if (file.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                    if (files.Count == MaxPayloadFiles) throw new MenderArtifactException($"an artifact holds at most {MaxPayloadFiles} payload files.");
                    await using var hashing = new HashingStream(file.DataStream ?? Stream.Null, long.MaxValue);
                    var sha = await FinishAsync(hashing, ct);
                    var path = $"data/{index}/{file.Name}";
                    computed[path] = sha;
                    files.Add(new MenderPayloadFile(file.Name, hashing.BytesRead, sha));
                }
            }
        }
        if (version is null) throw new MenderArtifactException("the artifact has no version entry (it is not a Mender Artifact).");
        if (manifest is null) throw new MenderArtifactException("the artifact has no manifest.");
        if (header is null) throw new MenderArtifactException("the artifact has no header.");
        foreach (var (path, sha) in computed)
        {
            if (!manifest.TryGetValue(path, out var expected)) throw new MenderArtifactException($"the manifest has no checksum for {path}.");
            if (!string.Equals(expected, sha, StringComparison.OrdinalIgnoreCase))
                throw new MenderArtifactException($"{path} does not match its checksum in the manifest (the file is damaged or was altered).");
        }
        foreach (var path in manifest.Keys.Where(p => p.StartsWith("data/", StringComparison.Ordinal) && !computed.ContainsKey(p)))
            throw new MenderArtifactException($"the manifest lists {path}, which the artifact does not hold (is it cut short?).");
        return new MenderArtifactInfo(version.Value, header.ArtifactName, header.DeviceTypes, header.PayloadTypes, header.Provides, header.Depends, files);
    }

    private sealed record Header(string ArtifactName, IReadOnlyList<string> DeviceTypes, IReadOnlyList<string> PayloadTypes, JsonObject Provides, JsonObject Depends);

    private static async Task<Header> ReadHeaderAsync(Stream tar, int version, CancellationToken ct)
    {
        var reader = new TarReader(tar);
        JsonObject? info = null;
        var provides = new JsonObject();
        while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
        {
            if (entry.Name == "header-info") info = JsonNode.Parse(await ReadSmallAsync(entry, ct)) as JsonObject;
            else if (entry.Name.EndsWith("/type-info", StringComparison.Ordinal) && JsonNode.Parse(await ReadSmallAsync(entry, ct)) is JsonObject typeInfo
                && typeInfo["artifact_provides"] is JsonObject payloadProvides)
                foreach (var (key, value) in payloadProvides) provides[key] = value?.DeepClone();
        }
        if (info is null) throw new MenderArtifactException("the header has no header-info.");
        var payloadKey = version == 2 ? "updates" : "payloads";
        var payloadTypes = (info[payloadKey] as JsonArray)?.Select(p => p?["type"]?.GetValue<string>()).OfType<string>().ToList() ?? [];
        if (payloadTypes.Count == 0) throw new MenderArtifactException($"header-info lists no {payloadKey}.");
        string? artifactName;
        List<string> deviceTypes;
        var depends = new JsonObject();
        if (version == 2)
        {
            artifactName = info["artifact_name"]?.GetValue<string>();
            deviceTypes = Strings(info["device_types_compatible"]);
        }
        else
        {
            var artifactProvides = info["artifact_provides"] as JsonObject;
            artifactName = artifactProvides?["artifact_name"]?.GetValue<string>();
            foreach (var (key, value) in artifactProvides ?? []) if (key != "artifact_name") provides[key] = value?.DeepClone();
            var artifactDepends = info["artifact_depends"] as JsonObject;
            deviceTypes = Strings(artifactDepends?["device_type"]);
            foreach (var (key, value) in artifactDepends ?? []) if (key != "device_type") depends[key] = value?.DeepClone();
        }
        if (string.IsNullOrEmpty(artifactName)) throw new MenderArtifactException("header-info has no artifact_name.");
        if (deviceTypes.Count == 0)
            throw new MenderArtifactException(version == 2 ? "header-info has no device_types_compatible." : "header-info has no artifact_depends.device_type (device_types_compatible).");
        return new Header(artifactName, deviceTypes, payloadTypes, provides, depends);
    }

    private static int ParseVersion(byte[] bytes)
    {
        var version = JsonNode.Parse(bytes) as JsonObject ?? throw new MenderArtifactException("version is not a JSON object.");
        if (version["format"]?.GetValue<string>() != "mender") throw new MenderArtifactException("version does not say format \"mender\".");
        var number = version["version"]?.GetValue<int>() ?? throw new MenderArtifactException("version has no version number.");
        return number is 2 or 3 ? number : throw new MenderArtifactException($"format version {number} is not supported; versions 2 and 3 are.");
    }

    private static Dictionary<string, string> ParseManifest(string text)
    {
        var manifest = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length != 64 || !parts[0].All(Uri.IsHexDigit)) throw new MenderArtifactException($"the manifest line '{line}' is not '<sha256>  <path>'.");
            manifest[parts[1]] = parts[0];
        }
        return manifest;
    }

    private static Stream Decompressed(Stream raw, string suffix) => suffix switch
    {
        "" => raw,
        ".gz" => new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true),
        _ => throw new MenderArtifactException($"compression '{suffix.TrimStart('.')}' is not supported; write the artifact with gzip or no compression (mender-artifact --compression gzip|none)."),
    };

    private static async Task<byte[]> ReadSmallAsync(TarEntry entry, CancellationToken ct)
    {
        if (entry.Length > MaxSmallEntryBytes) throw new MenderArtifactException($"{entry.Name} is larger than {MaxSmallEntryBytes} bytes.");
        using var buffer = new MemoryStream();
        if (entry.DataStream is { } data) await data.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    private static List<string> Strings(JsonNode? node) => node switch
    {
        JsonArray array => array.Select(t => t?.GetValue<string>()).OfType<string>().Where(t => t.Length > 0).ToList(),
        JsonValue value when value.TryGetValue<string>(out var single) && single.Length > 0 => [single],
        _ => [],
    };

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Reads what is left of an entry through its hasher (a decompressor may stop short of the end): the sha256 of all of it.</summary>
    private static async Task<string> FinishAsync(HashingStream hashing, CancellationToken ct)
    {
        await hashing.CopyToAsync(Stream.Null, ct);
        return hashing.Sha256Hex();
    }

}
