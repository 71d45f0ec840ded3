using System.Text.Json.Serialization;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>The body of every non-2xx response (API.md §1).</summary>
public sealed record ErrorBody(
    string Type,
    string Message,
    string RequestId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string[]>? Errors = null);

public static class ErrorResponses
{
    public static Task WriteAsync(HttpContext context, ErrorCategory category, string message,
        IReadOnlyDictionary<string, string[]>? errors = null)
    {
        context.Response.StatusCode = category.StatusCode();
        // Clearing a failed response drops headers; the request id must survive on every error.
        context.Response.Headers[RequestId.Header] = RequestId.Get(context);
        if (category == ErrorCategory.RateLimited && !context.Response.Headers.ContainsKey("Retry-After"))
            context.Response.Headers.RetryAfter = "1";
        if (MenderConventions.Applies(context))
        {
            context.Response.Headers[MenderConventions.RequestIdHeader] = RequestId.Get(context);
            return context.Response.WriteAsJsonAsync(MenderConventions.Body(message, errors, RequestId.Get(context)), context.RequestAborted);
        }
        var body = new ErrorBody(category.TypeName(), message, RequestId.Get(context), errors);
        return context.Response.WriteAsJsonAsync(body, context.RequestAborted);
    }

    public static string DefaultMessage(int status) => status switch
    {
        400 => "The request is invalid.",
        401 => "Authentication is required.",
        403 => "The credentials do not grant this operation.",
        404 => "No such resource.",
        405 => "The method is not allowed on this resource.",
        409 => "The request conflicts with the resource's state.",
        412 => "The resource was changed by someone else (ETag mismatch).",
        413 => "The request body is too large.",
        415 => "The content type is not supported.",
        429 => "Too many requests.",
        503 => "The service is unavailable.",
        _ => "An internal error occurred.",
    };
}
