using ServerlessFleet.Functions.Conventions;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared;

namespace ServerlessFleet.Functions.Middleware;

/// <summary>
/// <c>X-Request-Id</c>: a caller's id is kept when it is sane, otherwise the invocation's id is used; it is echoed on the
/// response, carried in every error body and in the logging scope of the invocation. With <c>Fleet:LogRequests</c>,
/// each request is logged once it is answered.
/// </summary>
public sealed partial class RequestIds(IHttpContextAccessor accessor, IOptions<FleetOptions> options, ILogger<RequestIds> logger) : HttpFunctionMiddleware
{
    public const string Header = RequestId.Header;

    protected override async Task InvokeAsync(FunctionContext function, HttpContext http, FunctionExecutionDelegate next)
    {
        // The invocation runs apart from the request's own flow, so the accessor learns the request here.
        accessor.HttpContext = http;
        var mender = MenderConventions.Applies(http);
        var incoming = http.Request.Headers[mender ? MenderConventions.RequestIdHeader : Header].ToString();
        if (incoming.Length == 0) incoming = http.Request.Headers[Header].ToString();
        // Without a usable id of the caller's, the invocation's id serves: unique already, and the one the host's own
        // logs of the invocation carry.
        var id = Sane().IsMatch(incoming) ? incoming : function.InvocationId;
        RequestId.Set(http, id);
        http.TraceIdentifier = id;
        http.Response.Headers[Header] = id;
        if (mender) http.Response.Headers[MenderConventions.RequestIdHeader] = id;
        if (options.Value.LogRequests) LogWhenAnswered(http, id);
        using (logger.BeginScope(new Dictionary<string, object> { ["RequestId"] = id, ["InvocationId"] = function.InvocationId }))
            await next(function);
    }

    /// <summary>The path only: a query may carry a download link's signature or a page token.</summary>
    private void LogWhenAnswered(HttpContext http, string id)
    {
        var started = Stopwatch.GetTimestamp();
        http.Response.OnCompleted(() =>
        {
            Answered(logger, http.Request.Method, http.Request.Path.Value ?? "", http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds, id);
            return Task.CompletedTask;
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Path} {Status} in {ElapsedMs:0.0} ms (request {RequestId})")]
    private static partial void Answered(ILogger logger, string method, string path, int status, double elapsedMs, string requestId);

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex Sane();
}
