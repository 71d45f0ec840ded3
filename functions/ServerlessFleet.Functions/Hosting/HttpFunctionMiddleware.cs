using System.Collections.Concurrent;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// A worker middleware that runs for HTTP functions only, with the ASP.NET Core request of the invocation at hand
/// (ASP.NET Core integration: the host forwards the request to the worker, which pairs it with the invocation).
/// </summary>
public abstract class HttpFunctionMiddleware : IFunctionsWorkerMiddleware
{
    public Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var http = context.GetHttpContext() ?? throw new InvalidOperationException($"Function '{context.FunctionDefinition.Name}' has no HTTP request.");
        return InvokeAsync(context, http, next);
    }

    protected abstract Task InvokeAsync(FunctionContext function, HttpContext http, FunctionExecutionDelegate next);

    private static readonly ConcurrentDictionary<string, bool> HttpFunctions = new();

    /// <summary>Asked once per middleware and invocation, answered once per function.</summary>
    public static bool IsHttp(FunctionContext context) => HttpFunctions.GetOrAdd(context.FunctionId, static (_, definition) =>
        definition.InputBindings.Values.Any(b => string.Equals(b.Type, "httpTrigger", StringComparison.OrdinalIgnoreCase)), context.FunctionDefinition);

    /// <summary>The middleware wrote the response itself; the worker has no result to write.</summary>
    protected static void Responded(FunctionContext function) => function.GetInvocationResult().Value = Results.Empty;
}
