using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Azure.Functions.Worker;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.OperatorConsole;

/// <summary>One file of the console, as it is served.</summary>
public sealed record ConsoleAsset(byte[] Content, string ContentType, string ETag);

/// <summary>
/// The operator console: static files embedded in the app, served anonymously at <c>/console</c>. The page asks for an
/// API key and calls the API with it, so every datum it shows passes the same authentication, scopes and tenant checks
/// as any other client. Nothing is fetched from elsewhere: the content security policy allows this origin only.
/// </summary>
public static class ConsoleAssets
{
    private const string Policy = "default-src 'self'; img-src 'self' data: blob: http: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
    private static readonly Lazy<FrozenDictionary<string, ConsoleAsset>> Files = new(Load);

    [Function("OperatorConsole"), AllowAnonymousAccess, HandledBy(nameof(Serve)), ExcludeFromDescription]
    public static Task<IResult> Console([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "console/{*path}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static IResult Serve(HttpContext context, string? path)
    {
        // Page addresses (#/fleet …) live after the hash; any other path without a file is the page itself.
        var asset = Files.Value.GetValueOrDefault(string.IsNullOrEmpty(path) ? "index.html" : path)
                    ?? (Path.HasExtension(path) ? null : Files.Value["index.html"]);
        if (asset is null) throw FleetException.NotFound("Console file", path!);
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = Policy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        // Revalidated on every load, so a new version of the app is picked up at once; unchanged files answer 304.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch.Contains(asset.ETag)) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static FrozenDictionary<string, ConsoleAsset> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        const string prefix = "console/";
        return assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToFrozenDictionary(n => n[prefix.Length..], n =>
        {
            using var stream = assembly.GetManifestResourceStream(n)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            return new ConsoleAsset(content, ContentType(n), $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
        }, StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
