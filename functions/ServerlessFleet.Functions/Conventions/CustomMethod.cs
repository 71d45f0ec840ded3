namespace ServerlessFleet.Functions.Conventions;

/// <summary>
/// The verb of a custom-method route (<c>POST /api/v1/actions/{id}:pause</c> → <c>pause</c>), bound as a handler
/// parameter so that one handler serves every verb of a resource.
/// </summary>
public sealed record CustomMethod(string Name)
{
    public static ValueTask<CustomMethod?> BindAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var colon = path.LastIndexOf(':');
        return ValueTask.FromResult<CustomMethod?>(colon >= 0 && colon > path.LastIndexOf('/')
            ? new CustomMethod(path[(colon + 1)..])
            : throw new InvalidOperationException($"'{path}' is not a custom-method route."));
    }
}
