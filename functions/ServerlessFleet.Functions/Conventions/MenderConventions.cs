using System.Text.Json.Serialization;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>Mender's error body on the compatible routes: <c>{error, request_id}</c>, the id also in <c>X-MEN-RequestID</c>.</summary>
public sealed record MenderErrorBody([property: JsonPropertyName("error")] string Error, [property: JsonPropertyName("request_id")] string RequestId);

/// <summary>The Mender-compatible device routes (<c>/api/devices/…</c>) keep Mender's conventions for errors and request ids.</summary>
public static class MenderConventions
{
    public const string RequestIdHeader = "X-MEN-RequestID";

    public static bool Applies(HttpContext context) => context.Request.Path.StartsWithSegments("/api/devices", StringComparison.OrdinalIgnoreCase);

    /// <summary>Validation details become the one message Mender clients log, each named once.</summary>
    public static MenderErrorBody Body(string message, IReadOnlyDictionary<string, string[]>? errors, string requestId)
    {
        if (errors is not { Count: > 0 }) return new(message, requestId);
        var details = errors.SelectMany(e => e.Value.Select(m => m.Contains(e.Key, StringComparison.Ordinal) ? m : $"{e.Key}: {m}")).Distinct().ToList();
        return new(string.Join("; ", details), requestId);
    }
}
