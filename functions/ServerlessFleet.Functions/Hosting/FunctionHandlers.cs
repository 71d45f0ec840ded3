using System.Collections.Concurrent;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;
using Microsoft.DurableTask.Client;
using ServerlessFleet.Functions.Conventions;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// Each HTTP function as one ASP.NET Core endpoint, built once: its handler (<see cref="HandledByAttribute"/>) turned
/// into a request delegate by ASP.NET Core's request delegate factory, which binds route values, query, JSON body,
/// services and <c>Caller</c> exactly as for a minimal API (bad input surfaces as <see cref="BadHttpRequestException"/>
/// for the error middleware), with the metadata the factory infers plus the function's own attributes. The delegate
/// serves the function's requests; the same endpoints, never routed (the host routes to the functions), are what
/// ASP.NET Core's OpenAPI generator describes.
/// </summary>
public sealed class FunctionHandlers(FunctionCatalog catalog, IServiceProvider services) : EndpointDataSource
{
    private readonly ConcurrentDictionary<string, Lazy<RouteEndpoint>> _endpoints = new(StringComparer.OrdinalIgnoreCase);

    public override IReadOnlyList<Endpoint> Endpoints => catalog.Http.Select(f => Endpoint(f.Name)).ToList();

    public override IChangeToken GetChangeToken() => NullChangeToken.Singleton;

    /// <summary>The body of an HTTP function with a <c>[DurableClient]</c> binding: its handler may take the client (or a wrapper that binds from it).</summary>
    public static Task<IResult> RunAsync(HttpRequest request, DurableTaskClient durable)
    {
        request.HttpContext.Features.Set(durable);
        return RunAsync(request);
    }

    /// <summary>The body of every HTTP function: runs its handler on the request.</summary>
    public static async Task<IResult> RunAsync(HttpRequest request)
    {
        var context = request.HttpContext;
        // The worker routes the forwarded request to the function's own endpoint, named after the function.
        var name = context.GetEndpoint()?.DisplayName ?? throw new InvalidOperationException("The request was not routed to a function.");
        await context.RequestServices.GetRequiredService<FunctionHandlers>().Endpoint(name).RequestDelegate!(context);
        // The handler has written the response; nothing is left for the worker to write.
        return Results.Empty;
    }

    public RouteEndpoint Endpoint(string name) =>
        _endpoints.GetOrAdd(name, n => new Lazy<RouteEndpoint>(() => Build(catalog.Get(n)))).Value;

    private RouteEndpoint Build(FunctionDescriptor function)
    {
        var handler = function.Handler ?? throw new InvalidOperationException($"Function '{function.Name}' has no handler.");
        var pattern = RoutePatternFactory.Parse("/" + function.Route);
        var builder = new RouteEndpointBuilder(null, pattern, 0) { DisplayName = function.Name, ApplicationServices = services };
        // The API explorer describes route endpoints that carry their handler method, as minimal APIs do.
        builder.Metadata.Add(handler);
        var options = new RequestDelegateFactoryOptions
        {
            EndpointBuilder = builder,
            ServiceProvider = services,
            RouteParameterNames = pattern.Parameters.Select(p => p.Name).ToList(),
            ThrowOnBadRequest = true,
        };
        builder.RequestDelegate = RequestDelegateFactory.Create(handler, targetFactory: null, options, RequestDelegateFactory.InferMetadata(handler, options)).RequestDelegate;
        builder.Metadata.Add(new HttpMethodMetadata(function.HttpMethods ?? []));
        builder.Metadata.Add(new EndpointNameMetadata(function.Name));
        builder.Metadata.Add(new RouteNameMetadata(function.Name));
        foreach (var attribute in function.Method.DeclaringType!.GetCustomAttributes(true).Concat(function.Method.GetCustomAttributes(true)))
            builder.Metadata.Add(attribute);
        var declared = builder.Metadata.OfType<IProducesResponseTypeMetadata>().Select(p => p.StatusCode).ToHashSet();
        foreach (var status in (function.Access?.ErrorStatuses ?? []).Append(500).Where(s => !declared.Contains(s)))
            builder.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(ErrorBody), ["application/json"]));
        return (RouteEndpoint)builder.Build();
    }
}
