using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Primitives;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;

namespace ServerlessFleet.LocalHost;

/// <summary>
/// Serves the HTTP-triggered functions: each function's route (host.json routePrefix + the trigger's route) and methods
/// become an endpoint; a matching request is sent to the worker as an invocation and, at the same time, streamed to the
/// worker's own HTTP server with <c>x-ms-invocation-id</c> (ASP.NET Core integration), whose answer is streamed back.
/// HttpClient forwards rather than YARP's forwarder: when the worker answers before reading the whole body (413 for an
/// oversize request) and closes, HttpClient still hands back that answer, where the forwarder reports a 502.
/// </summary>
public sealed class HttpTriggers(IFunctionInvoker channel, HostSettings settings, HostLog log)
{
    private static string RequestIdOf(HttpContext context) => context.TraceIdentifier;

    /// <summary>How long a request waits for a worker being started again before it is answered 503.</summary>
    private static readonly TimeSpan WorkerStartWait = TimeSpan.FromSeconds(60);

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host",
    };

    private readonly HttpThrottle _throttle = new(settings.MaxConcurrentRequests, settings.MaxOutstandingRequests);

    /// <summary>The trigger of every forwarded request: the same empty message each time, only ever read.</summary>
    private static readonly TypedData ProxiedRequest = new() { Http = new RpcHttp() };

    private readonly HttpClient _worker = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        ActivityHeadersPropagator = null,
    }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <param name="workerUri">The current worker's HTTP server, waited for while a worker is being started again.</param>
    public void Map(IEndpointRouteBuilder app, IEnumerable<LoadedFunction> functions, Func<TimeSpan, Task<Uri>> workerUri)
    {
        foreach (var function in functions)
        {
            var route = function.Trigger["route"]?.GetValue<string>() ?? function.Name;
            var template = string.IsNullOrEmpty(settings.RoutePrefix) ? route : $"{settings.RoutePrefix}/{route}";
            var methods = function.Trigger["methods"]?.AsArray().Select(m => m!.GetValue<string>().ToUpperInvariant()).ToArray();
            app.MapMethods("/" + template, methods is { Length: > 0 } ? methods : ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                context => ForwardAsync(context, function, workerUri)).WithDisplayName(function.Name);
        }
    }

    private async Task ForwardAsync(HttpContext context, LoadedFunction function, Func<TimeSpan, Task<Uri>> currentWorker)
    {
        try
        {
            if (!await _throttle.EnterAsync(context.RequestAborted))
            {
                await RefuseAsync(context, StatusCodes.Status429TooManyRequests, retryAfterSeconds: 1, "rate_limited",
                    $"The host holds as many requests as it may ({_throttle.MaxOutstandingRequests}, host.json extensions.http.maxOutstandingRequests); retry after the time in Retry-After.");
                return;
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller left while its request waited for its turn.
            return;
        }
        try
        {
            await ForwardToWorkerAsync(context, function, currentWorker);
        }
        finally
        {
            _throttle.Exit();
        }
    }

    private async Task ForwardToWorkerAsync(HttpContext context, LoadedFunction function, Func<TimeSpan, Task<Uri>> currentWorker)
    {
        Uri workerUri;
        try
        {
            workerUri = await currentWorker(WorkerStartWait);
        }
        catch (Exception e) when (e is TimeoutException or WorkerGoneException)
        {
            log.Host($"{function.Name}: no worker took the request within {WorkerStartWait.TotalSeconds:0} s ({e.Message}).");
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, retryAfterSeconds: 5, "service_unavailable", "The app's worker is starting again; retry shortly.");
            return;
        }
        var invocationId = Guid.NewGuid().ToString();
        // The worker takes the request itself from the forwarded one, so the invocation carries an empty RpcHttp, as the
        // Functions host sends to a worker that declared HttpUri; route values, Query and Headers travel as trigger metadata.
        var invocation = channel.InvokeAsync(function, ProxiedRequest, Metadata(context), settings.FunctionTimeout, invocationId);
        try
        {
            using var request = Forwarded(context, workerUri, invocationId);
            using var response = await _worker.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            // As received, not parsed and validated again: the worker's headers pass through unchanged.
            CopyHeaders(response.Headers.NonValidated, context.Response.Headers);
            CopyHeaders(response.Content.Headers.NonValidated, context.Response.Headers);
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            log.Host($"{function.Name}: the worker did not answer the request ({e.Message}).");
            if (!context.Response.HasStarted) context.Response.StatusCode = StatusCodes.Status502BadGateway;
        }
        try
        {
            var result = await invocation;
            if (result.Result.Status != StatusResult.Types.Status.Success) log.Host($"{function.Name} failed: {result.Result.Exception?.Message}");
        }
        catch (Exception e) when (e is TimeoutException or WorkerGoneException)
        {
            log.Host($"{function.Name}: {e.Message}");
        }
    }

    /// <summary>An answer the host gives itself, without the worker: the status, when to retry, and the API's error JSON.</summary>
    private static Task RefuseAsync(HttpContext context, int status, int retryAfterSeconds, string type, string message)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return context.Response.WriteAsJsonAsync(new { type, message, requestId = RequestIdOf(context) });
    }

    /// <summary>The request as the worker receives it: streamed body, the caller's headers, the invocation it belongs to and the caller's address.</summary>
    private static HttpRequestMessage Forwarded(HttpContext context, Uri workerUri, string invocationId)
    {
        var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(workerUri, context.Request.Path + context.Request.QueryString));
        // An empty body still carries its Content-Type and Content-Length: 0 to the worker, as it came.
        if (context.Request.ContentLength is not null || context.Request.Headers.TransferEncoding.Count > 0 || context.Request.ContentType is not null)
            request.Content = new StreamContent(context.Request.Body);
        foreach (var (name, values) in context.Request.Headers)
            if (!HopByHop.Contains(name) && !Add(request.Headers, name, values) && request.Content is { } content)
                Add(content.Headers, name, values);
        request.Headers.TryAddWithoutValidation("x-ms-invocation-id", invocationId);
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", context.Connection.RemoteIpAddress?.ToString());
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", context.Request.Scheme);
        return request;
    }

    private static bool Add(HttpHeaders headers, string name, StringValues values) =>
        values.Count == 1 ? headers.TryAddWithoutValidation(name, values[0]) : headers.TryAddWithoutValidation(name, values.ToArray());

    private static void CopyHeaders(HttpHeadersNonValidated from, IHeaderDictionary to)
    {
        foreach (var (name, values) in from)
            if (!HopByHop.Contains(name)) to[name] = values.Count == 1 ? values.ToString() : values.ToArray();
    }

    /// <summary>The trigger metadata the host sends with an HTTP invocation: route values by name, Query and Headers as JSON.</summary>
    private static Dictionary<string, TypedData> Metadata(HttpContext context)
    {
        var metadata = new Dictionary<string, TypedData>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.Request.RouteValues) metadata[name] = new TypedData { String = value?.ToString() ?? "" };
        metadata["Query"] = new TypedData { Json = JsonObject(context.Request.Query) };
        metadata["Headers"] = new TypedData { Json = JsonObject(context.Request.Headers) };
        return metadata;
    }

    /// <summary>Names to values (several joined with commas) as one JSON object, written straight from the request.</summary>
    private static string JsonObject(IEnumerable<KeyValuePair<string, StringValues>> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in values) json.WriteString(name, value.ToString());
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
