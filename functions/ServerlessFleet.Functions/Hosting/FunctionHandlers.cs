using System.Collections.Concurrent;
using Microsoft.AspNetCore.Routing.Patterns;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// Runs an HTTP function's handler (<see cref="HandledByAttribute"/>) on the request: ASP.NET Core's request delegate
/// factory binds its parameters (route values, query, JSON body, services, <c>Caller</c>) and writes its result, exactly
/// as for a minimal API route, so bad input surfaces as <see cref="BadHttpRequestException"/> for the error middleware.
/// </summary>
public static class FunctionHandlers
{
    private static readonly ConcurrentDictionary<string, RequestDelegate> Delegates = new(StringComparer.OrdinalIgnoreCase);

    public static async Task<IResult> RunAsync(HttpRequest request)
    {
        var context = request.HttpContext;
        // The worker routes the forwarded request to the function's own endpoint, named after the function.
        var name = context.GetEndpoint()?.DisplayName ?? throw new InvalidOperationException("The request was not routed to a function.");
        var handler = Delegates.GetOrAdd(name, static (n, services) => Create(services.GetRequiredService<FunctionCatalog>().Get(n), services), context.RequestServices);
        await handler(context);
        // The handler has written the response; nothing is left for the worker to write.
        return Results.Empty;
    }

    public static RequestDelegateFactoryOptions Options(FunctionDescriptor function, IServiceProvider services, EndpointBuilder? describing = null) => new()
    {
        EndpointBuilder = describing,
        ServiceProvider = services,
        RouteParameterNames = RoutePatternFactory.Parse(function.Route ?? "").Parameters.Select(p => p.Name).ToList(),
        ThrowOnBadRequest = true,
    };

    private static RequestDelegate Create(FunctionDescriptor function, IServiceProvider services)
    {
        var handler = function.Handler ?? throw new InvalidOperationException($"Function '{function.Name}' has no handler.");
        return RequestDelegateFactory.Create(handler, targetFactory: null, Options(function, services)).RequestDelegate;
    }
}
