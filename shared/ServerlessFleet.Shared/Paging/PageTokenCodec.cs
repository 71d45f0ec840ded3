using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Paging;

/// <summary>
/// Turns page cursors into opaque, HMAC-signed tokens. A token is bound to the direction it was issued
/// for and to the query it belongs to (route + filters), so a token that was edited, or replayed against
/// another list or filter, is rejected with 400 instead of reading the wrong data.
/// </summary>
public sealed class PageTokenCodec(byte[] key)
{
    // The oldest page starts are dropped past this depth; walking back further restarts at the oldest kept.
    private const int MaxHistory = 32;

    public string Encode(PageRequest page, PageDirection direction, string querySignature)
    {
        var history = page.PreviousStarts.Count > MaxHistory
            ? page.PreviousStarts.Skip(page.PreviousStarts.Count - MaxHistory).ToList()
            : page.PreviousStarts;
        var body = new TokenBody(direction == PageDirection.Next ? "n" : "p", page.Limit, page.Start, history, Hash(querySignature));
        var payload = JsonSerializer.SerializeToUtf8Bytes(body, TokenJson.Default.TokenBody);
        return Base64Url(payload) + "." + Base64Url(Sign(payload));
    }

    public PageRequest Decode(string token, PageDirection direction, string querySignature)
    {
        var field = direction == PageDirection.Next ? "after" : "before";
        var parts = token.Split('.');
        if (parts.Length != 2 || !TryFromBase64Url(parts[0], out var payload) || !TryFromBase64Url(parts[1], out var mac)
            || !CryptographicOperations.FixedTimeEquals(mac, Sign(payload)))
            throw FleetException.Validation(field, "The page token is not valid.");

        TokenBody? body;
        try { body = JsonSerializer.Deserialize(payload, TokenJson.Default.TokenBody); }
        catch (JsonException) { body = null; }
        if (body is null || body.Direction != (direction == PageDirection.Next ? "n" : "p"))
            throw FleetException.Validation(field, "The page token is not valid for this parameter.");
        if (body.Query != Hash(querySignature))
            throw FleetException.Validation(field, "The page token belongs to a different list or filter.");
        if (body.Limit is < 1 or > PageRequest.MaxLimit)
            throw FleetException.Validation(field, "The page token is not valid.");
        return new PageRequest(body.Limit, body.Start, body.History ?? []);
    }

    private byte[] Sign(byte[] payload) => HMACSHA256.HashData(key, payload);

    private static string Hash(string querySignature) =>
        Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(querySignature)).AsSpan(0, 12).ToArray());

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryFromBase64Url(string text, out byte[] bytes)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        bytes = new byte[padded.Length];
        if (!Convert.TryFromBase64String(padded, bytes, out var written)) return false;
        bytes = bytes[..written];
        return true;
    }

    internal sealed record TokenBody(
        [property: JsonPropertyName("d")] string Direction,
        [property: JsonPropertyName("l")] int Limit,
        [property: JsonPropertyName("s")] string? Start,
        [property: JsonPropertyName("h")] IReadOnlyList<string?>? History,
        [property: JsonPropertyName("q")] string Query);
}

public enum PageDirection { Next, Previous }

[JsonSerializable(typeof(PageTokenCodec.TokenBody))]
internal sealed partial class TokenJson : JsonSerializerContext;
