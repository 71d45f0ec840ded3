using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ServerlessFleet.Shared.DeviceAuth;

/// <summary>
/// The serial a device is known by, from the identity it presents: its <c>serial</c> attribute; otherwise (a Mender
/// client's <c>id_data</c>) its <c>mac</c>; otherwise a digest of the whole identity, so that the same identity is the
/// same device whichever API it arrives through.
/// </summary>
public static partial class DeviceIdentities
{
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    public static partial Regex SerialPattern();

    /// <summary>The serial, or null when the identity names a serial that breaks the serial rules.</summary>
    public static string? SerialOf(JsonObject identity)
    {
        if (identity.ContainsKey("serial")) return Text(identity["serial"]) is { } serial && SerialPattern().IsMatch(serial) ? serial : null;
        if (Text(identity["mac"]) is { } mac && SerialPattern().IsMatch(mac)) return mac;
        var canonical = string.Join('\n', identity.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value?.ToJsonString()}"));
        return "id-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..32];
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
