using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// Requests no other function takes, answered by the app in its error shape rather than by the host's bare 404: 405
/// (with <c>Allow</c>) when the path belongs to a function of another method, 404 otherwise.
/// </summary>
public static class RouteNotFound
{
    [Function(nameof(RouteNotFound)), AllowAnonymousAccess, HandledBy(nameof(AnswerAsync)), ExcludeFromDescription]
    public static Task<IResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete", Route = "{*path}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static readonly Lazy<IReadOnlyList<(TemplateMatcher Matcher, IReadOnlyList<string> Methods)>> Routes = new(() =>
        new FunctionCatalog().Http.Where(f => f.Name != nameof(RouteNotFound))
            .Select(f => (new TemplateMatcher(TemplateParser.Parse(f.Route!), new RouteValueDictionary()), f.HttpMethods!))
            .ToList());

    private static Task AnswerAsync(HttpContext context)
    {
        var allowed = Routes.Value.Where(r => r.Matcher.TryMatch(context.Request.Path, new RouteValueDictionary()))
            .SelectMany(r => r.Methods).Distinct().Order(StringComparer.Ordinal).ToList();
        if (allowed.Count > 0) context.Response.Headers.Allow = string.Join(", ", allowed);
        context.Response.StatusCode = allowed.Count > 0 ? StatusCodes.Status405MethodNotAllowed : StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}
