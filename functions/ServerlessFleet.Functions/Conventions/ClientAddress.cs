using System.Net;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>
/// The address a request came from. The worker is reached only through the Functions host on loopback, so the
/// connection's address is the host's; the caller's is the last <c>X-Forwarded-For</c> entry, the one the nearest
/// proxy (the platform's front end, or the host) added. Entries before it are whatever the client sent, so they are
/// never trusted.
/// </summary>
public static class ClientAddress
{
    public static string Of(HttpContext context)
    {
        var connection = context.Connection.RemoteIpAddress;
        if (connection is not null && !IPAddress.IsLoopback(connection)) return connection.ToString();
        var forwarded = context.Request.Headers["X-Forwarded-For"].ToString();
        var last = forwarded.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return last is not null && IPAddress.TryParse(last, out var address) ? address.ToString() : connection?.ToString() ?? "unknown";
    }
}
