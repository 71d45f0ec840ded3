using System.Text;
using Microsoft.Net.Http.Headers;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>
/// <c>ETag</c> on single resources and <c>If-Match</c> on writes. The storage ETag travels inside an opaque
/// strong tag (storage ETags are written like weak HTTP tags), so <c>If-Match</c> becomes an
/// optimistic-concurrency write in storage itself.
/// </summary>
public static class ETags
{
    public static void Set(HttpContext context, Azure.ETag etag) =>
        context.Response.Headers.ETag = "\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes(etag.ToString())).TrimEnd('=').Replace('+', '-').Replace('/', '_') + "\"";

    /// <summary>The storage ETag a write must match: the caller's If-Match, or <c>*</c> when none was given.</summary>
    public static Azure.ETag IfMatch(HttpContext context)
    {
        var header = context.Request.Headers.IfMatch.ToString();
        if (string.IsNullOrEmpty(header) || header.Trim() == "*") return Azure.ETag.All;
        if (!EntityTagHeaderValue.TryParse(header, out var parsed) || parsed.IsWeak)
            throw FleetException.Validation("If-Match", "If-Match must be one strong entity tag.");
        var opaque = parsed.Tag.ToString().Trim('"').Replace('-', '+').Replace('_', '/');
        opaque += new string('=', (4 - opaque.Length % 4) % 4);
        var bytes = new byte[opaque.Length];
        // A tag we never issued cannot match any version of the resource.
        return Convert.TryFromBase64String(opaque, bytes, out var n) ? new Azure.ETag(Encoding.UTF8.GetString(bytes, 0, n)) : new Azure.ETag("unmatched");
    }
}
