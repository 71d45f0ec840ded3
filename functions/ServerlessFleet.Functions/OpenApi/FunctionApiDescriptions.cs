using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;

namespace ServerlessFleet.Functions.OpenApi;

/// <summary>
/// The HTTP functions described as endpoints for ASP.NET Core's OpenAPI generator: route and methods from each
/// function's trigger, parameters, body and responses from its handler (inferred as for a minimal API), and the
/// function's own attributes (tags, summary, access rule, declared responses). These endpoints are never routed: the
/// host routes requests to the functions.
/// </summary>
public sealed class FunctionApiDescriptions(FunctionCatalog catalog, IServiceProvider services) : EndpointDataSource
{
    private IReadOnlyList<Endpoint>? _endpoints;

    public override IReadOnlyList<Endpoint> Endpoints => _endpoints ??= catalog.Http.Select(Describe).ToList();

    public override IChangeToken GetChangeToken() => NullChangeToken.Singleton;

    private Endpoint Describe(FunctionDescriptor function)
    {
        var builder = new RouteEndpointBuilder(null, RoutePatternFactory.Parse("/" + function.Route), 0) { DisplayName = function.Name, ApplicationServices = services };
        // The API explorer describes route endpoints that carry their handler method, as minimal APIs do.
        builder.Metadata.Add(function.Handler!);
        var options = FunctionHandlers.Options(function, services, builder);
        var inferred = RequestDelegateFactory.InferMetadata(function.Handler!, options);
        builder.RequestDelegate = RequestDelegateFactory.Create(function.Handler!, targetFactory: null, options, inferred).RequestDelegate;
        builder.Metadata.Add(new HttpMethodMetadata(function.HttpMethods ?? []));
        builder.Metadata.Add(new EndpointNameMetadata(function.Name));
        builder.Metadata.Add(new RouteNameMetadata(function.Name));
        foreach (var attribute in function.Method.DeclaringType!.GetCustomAttributes(true).Concat(function.Method.GetCustomAttributes(true)))
            builder.Metadata.Add(attribute);
        var declared = builder.Metadata.OfType<IProducesResponseTypeMetadata>().Select(p => p.StatusCode).ToHashSet();
        foreach (var status in (function.Access?.ErrorStatuses ?? []).Append(500).Where(s => !declared.Contains(s)))
            builder.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(ErrorBody), ["application/json"]));
        return builder.Build();
    }
}
