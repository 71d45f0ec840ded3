using System.Net;
using System.Text.Json;
using Yarp.ReverseProxy.Forwarder;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;

namespace ServerlessFleet.LocalHost;

/// <summary>
/// Serves the HTTP-triggered functions: each function's route (host.json routePrefix + the trigger's route) and methods
/// become an endpoint; a matching request is sent to the worker as an invocation and, at the same time, forwarded (YARP's
/// forwarder, streaming both ways) to the worker's own HTTP server with <c>x-ms-invocation-id</c> (ASP.NET Core
/// integration), whose answer goes back to the caller.
/// </summary>
public sealed class HttpTriggers(WorkerChannel channel, HostSettings settings, HostLog log, IHttpForwarder forwarder)
{
    private readonly HttpMessageInvoker _worker = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        ActivityHeadersPropagator = null,
    });

    public void Map(IEndpointRouteBuilder app, IEnumerable<LoadedFunction> functions, Uri workerUri)
    {
        foreach (var function in functions)
        {
            var route = function.Trigger["route"]?.GetValue<string>() ?? function.Name;
            var template = string.IsNullOrEmpty(settings.RoutePrefix) ? route : $"{settings.RoutePrefix}/{route}";
            var methods = function.Trigger["methods"]?.AsArray().Select(m => m!.GetValue<string>().ToUpperInvariant()).ToArray();
            app.MapMethods("/" + template, methods is { Length: > 0 } ? methods : ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                context => ForwardAsync(context, function, workerUri.ToString())).WithDisplayName(function.Name);
        }
    }

    private async Task ForwardAsync(HttpContext context, LoadedFunction function, string worker)
    {
        var invocationId = Guid.NewGuid().ToString();
        var invocation = channel.InvokeAsync(function, new TypedData { Http = Describe(context) }, Metadata(context), settings.FunctionTimeout, invocationId);
        var error = await forwarder.SendAsync(context, worker, _worker, new ForwarderRequestConfig { ActivityTimeout = settings.FunctionTimeout },
            new InvocationTransformer(invocationId));
        if (error != ForwarderError.None)
            log.Host($"{function.Name}: forwarding to the worker failed ({error}: {context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message}).");
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

    private static RpcHttp Describe(HttpContext context)
    {
        var http = new RpcHttp
        {
            Method = context.Request.Method,
            Url = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{context.Request.Path}{context.Request.QueryString}",
        };
        foreach (var (name, values) in context.Request.Headers) http.Headers[name.ToLowerInvariant()] = values.ToString();
        foreach (var (name, values) in context.Request.Query) http.Query[name] = values.ToString();
        foreach (var (name, value) in context.Request.RouteValues) http.Params[name] = value?.ToString() ?? "";
        return http;
    }

    /// <summary>The trigger metadata the host sends with an HTTP invocation: route values by name, Query and Headers as JSON.</summary>
    private static Dictionary<string, TypedData> Metadata(HttpContext context)
    {
        var metadata = new Dictionary<string, TypedData>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.Request.RouteValues) metadata[name] = new TypedData { String = value?.ToString() ?? "" };
        metadata["Query"] = new TypedData { Json = JsonSerializer.Serialize(context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString())) };
        metadata["Headers"] = new TypedData { Json = JsonSerializer.Serialize(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString())) };
        return metadata;
    }

    /// <summary>The forwarded request carries the invocation it belongs to and the caller's address, as the host sends them.</summary>
    private sealed class InvocationTransformer(string invocationId) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext context, HttpRequestMessage request, string destinationPrefix, CancellationToken ct)
        {
            await base.TransformRequestAsync(context, request, destinationPrefix, ct);
            request.Headers.TryAddWithoutValidation("x-ms-invocation-id", invocationId);
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", context.Connection.RemoteIpAddress?.ToString());
            request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", context.Request.Scheme);
        }
    }
}
