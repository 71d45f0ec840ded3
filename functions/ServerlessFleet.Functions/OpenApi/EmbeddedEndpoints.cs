using Microsoft.AspNetCore.Routing.Template;

namespace ServerlessFleet.Functions.OpenApi;

/// <summary>
/// Endpoints that libraries map on an <see cref="IEndpointRouteBuilder"/> (the OpenAPI document, the Scalar reference
/// page and its script), collected without being routed so that a function can serve them: the function matches the
/// request against their route patterns and runs the matching endpoint's own request delegate.
/// </summary>
public sealed class EmbeddedEndpoints(IServiceProvider services) : IEndpointRouteBuilder
{
    private IReadOnlyList<(RouteEndpoint Endpoint, TemplateMatcher Matcher)>? _matchers;

    public IServiceProvider ServiceProvider => services;
    public ICollection<EndpointDataSource> DataSources { get; } = new List<EndpointDataSource>();
    public IApplicationBuilder CreateApplicationBuilder() => new ApplicationBuilder(services);

    public async Task<bool> TryServeAsync(HttpContext context)
    {
        _matchers ??= DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Select(e => (e, new TemplateMatcher(TemplateParser.Parse(e.RoutePattern.RawText!.TrimStart('/')), new RouteValueDictionary(e.RoutePattern.Defaults))))
            .ToList();
        foreach (var (endpoint, matcher) in _matchers)
        {
            var values = new RouteValueDictionary();
            if (!matcher.TryMatch(context.Request.Path, values)) continue;
            if (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is { HttpMethods.Count: > 0 } methods
                && !methods.HttpMethods.Contains(context.Request.Method, StringComparer.OrdinalIgnoreCase)) continue;
            context.Request.RouteValues = values;
            await endpoint.RequestDelegate!(context);
            return true;
        }
        return false;
    }
}
