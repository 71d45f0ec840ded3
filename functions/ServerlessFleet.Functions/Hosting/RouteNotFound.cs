using Microsoft.Azure.Functions.Worker;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// Requests no other function takes, answered by the app in its error shape rather than by the host's bare 404: 405
/// (with <c>Allow</c>) when the path belongs to a function of another method, 404 otherwise.
/// </summary>
public static class RouteNotFound
{
    [Function(nameof(RouteNotFound)), AllowAnonymousAccess, HandledBy(nameof(Answer)), ExcludeFromDescription]
    public static Task<IResult> Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete", Route = "{*path}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static void Answer(HttpContext context, FunctionCatalog catalog)
    {
        var allowed = catalog.Routing(context.Request.Path).Where(f => f.Name != nameof(RouteNotFound))
            .SelectMany(f => f.HttpMethods!).Distinct().Order(StringComparer.Ordinal).ToList();
        if (allowed.Count > 0) context.Response.Headers.Allow = string.Join(", ", allowed);
        context.Response.StatusCode = allowed.Count > 0 ? StatusCodes.Status405MethodNotAllowed : StatusCodes.Status404NotFound;
    }
}
