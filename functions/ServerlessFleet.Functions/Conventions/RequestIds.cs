using System.Text.RegularExpressions;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>
/// <c>X-Request-Id</c>: a caller's id is kept when it is sane, otherwise one is made; it is echoed on the
/// response, carried in every error body and in the logging scope of the request.
/// </summary>
public sealed partial class RequestIds(RequestDelegate next, ILogger<RequestIds> logger)
{
    public const string Header = "X-Request-Id";
    private const string ItemKey = "fleet.requestId";

    public async Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[Header].ToString();
        var id = Sane().IsMatch(incoming) ? incoming : Guid.NewGuid().ToString("n");
        context.Items[ItemKey] = id;
        context.TraceIdentifier = id;
        context.Response.Headers[Header] = id;
        using (logger.BeginScope(new Dictionary<string, object> { ["RequestId"] = id }))
            await next(context);
    }

    public static string Get(HttpContext context) =>
        context.Items.TryGetValue(ItemKey, out var id) && id is string s ? s : context.TraceIdentifier;

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex Sane();
}
