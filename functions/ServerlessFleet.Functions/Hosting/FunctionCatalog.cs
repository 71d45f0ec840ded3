using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// Every function the app exposes, read from the app's own endpoint data source: HTTP routes with their
/// names and methods, and the trigger endpoints of queue and timer functions.
/// </summary>
public sealed partial class FunctionCatalog
{
    private EndpointDataSource? _endpoints;

    private IReadOnlyList<FunctionDefinition>? _functions;

    public IReadOnlyList<FunctionDefinition> Functions => _functions ??= Build();

    /// <summary>Reads the app's own data sources: the DI composite is only filled once the pipeline starts.</summary>
    public void Attach(IEndpointRouteBuilder app) => _endpoints = new CompositeEndpointDataSource(app.DataSources);

    private IReadOnlyList<FunctionDefinition> Build()
    {
        var functions = new List<FunctionDefinition>();
        var problems = new List<string>();
        var source = _endpoints ?? throw new InvalidOperationException("The function catalog is not attached to the app.");
        foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<TriggerFunctionMetadata>() is { } trigger)
            {
                functions.Add(trigger.Function);
                continue;
            }
            var route = endpoint.RoutePattern.RawText?.Trim('/') ?? "";
            var name = endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? NameFromRoute(route);
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods
                .Select(m => m.ToLowerInvariant()).Order(StringComparer.Ordinal).ToList() ?? [];
            if (endpoint.Metadata.GetMetadata<AccessMetadata>() is null)
                problems.Add($"HTTP function '{name}' ({route}) declares no access rule (RequireScope, RequireApiKey or AllowAnonymousAccess).");
            functions.Add(new FunctionDefinition(name, TriggerKind.Http, route, methods));
        }

        foreach (var f in functions.Where(f => !ValidName().IsMatch(f.Name)))
            problems.Add($"Function name '{f.Name}' is not a valid Azure Functions name.");
        foreach (var group in functions.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            problems.Add($"Function name '{group.Key}' is declared {group.Count()} times.");
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
        return functions.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Endpoints mapped by libraries (the API reference page) get a stable name derived from their route.</summary>
    private static string NameFromRoute(string route)
    {
        var words = NonWord().Split(route).Where(w => w.Length > 0)
            .Select(w => char.ToUpperInvariant(w[0]) + w[1..]);
        return "Http" + string.Concat(words);
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,127}$")]
    private static partial Regex ValidName();

    [GeneratedRegex("[^A-Za-z0-9]+")]
    private static partial Regex NonWord();
}
