using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>
/// A request whose body is signed is read as bytes (the signature covers exactly those) and parsed afterwards,
/// refusing duplicate keys so the parsed object is the one that was signed.
/// </summary>
public static class SignedBodies
{
    private const int MaxBytes = 16 * 1024;
    private static readonly JsonDocumentOptions UniqueKeys = new() { AllowDuplicateProperties = false };

    public static async Task<byte[]> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBytes) throw new FleetException(ErrorCategory.PayloadTooLarge, $"An auth request is at most {MaxBytes} bytes.");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>The JSON object in <paramref name="json"/>; 400 naming <paramref name="field"/> when it is not one.</summary>
    public static JsonObject ParseObject(ReadOnlySpan<byte> json, string field, Func<JsonException, string> message)
    {
        try
        {
            return JsonNode.Parse(json, documentOptions: UniqueKeys) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            throw FleetException.Validation(field, message(e));
        }
    }

    public static JsonObject ParseObject(string json, string field, Func<JsonException, string> message) =>
        ParseObject(System.Text.Encoding.UTF8.GetBytes(json), field, message);

    /// <summary>The signature header's bytes, or null when it is not base64 of a plausible length.</summary>
    public static byte[]? Signature(HttpRequest request, string header)
    {
        var text = request.Headers[header].ToString();
        if (text.Length is 0 or > 2048) return null;
        var bytes = new byte[text.Length];
        return Convert.TryFromBase64String(text, bytes, out var n) ? bytes[..n] : null;
    }

    public static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
