namespace ServerlessFleet.Shared.Errors;

/// <summary>The error categories of the API contract; each maps to one HTTP status and one <c>type</c> string.</summary>
public enum ErrorCategory
{
    Validation,
    Authentication,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable,
    RateLimited,
    Internal,
    Unavailable,
}

public static class ErrorCategories
{
    public static int StatusCode(this ErrorCategory category) => category switch
    {
        ErrorCategory.Validation => 400,
        ErrorCategory.Authentication => 401,
        ErrorCategory.Forbidden => 403,
        ErrorCategory.NotFound => 404,
        ErrorCategory.MethodNotAllowed => 405,
        ErrorCategory.Conflict => 409,
        ErrorCategory.PreconditionFailed => 412,
        ErrorCategory.PayloadTooLarge => 413,
        ErrorCategory.UnsupportedMediaType => 415,
        ErrorCategory.Unprocessable => 422,
        ErrorCategory.RateLimited => 429,
        ErrorCategory.Unavailable => 503,
        _ => 500,
    };

    public static string TypeName(this ErrorCategory category) => category switch
    {
        ErrorCategory.Validation => "validation_error",
        ErrorCategory.Authentication => "authentication_error",
        ErrorCategory.Forbidden => "forbidden",
        ErrorCategory.NotFound => "not_found",
        ErrorCategory.MethodNotAllowed => "method_not_allowed",
        ErrorCategory.Conflict => "conflict",
        ErrorCategory.PreconditionFailed => "precondition_failed",
        ErrorCategory.PayloadTooLarge => "payload_too_large",
        ErrorCategory.UnsupportedMediaType => "unsupported_media_type",
        ErrorCategory.Unprocessable => "unprocessable",
        ErrorCategory.RateLimited => "rate_limited",
        ErrorCategory.Unavailable => "service_unavailable",
        _ => "internal_error",
    };

    public static ErrorCategory FromStatusCode(int status) => status switch
    {
        400 => ErrorCategory.Validation,
        401 => ErrorCategory.Authentication,
        403 => ErrorCategory.Forbidden,
        404 => ErrorCategory.NotFound,
        405 => ErrorCategory.MethodNotAllowed,
        409 => ErrorCategory.Conflict,
        412 => ErrorCategory.PreconditionFailed,
        413 => ErrorCategory.PayloadTooLarge,
        415 => ErrorCategory.UnsupportedMediaType,
        422 => ErrorCategory.Unprocessable,
        429 => ErrorCategory.RateLimited,
        503 => ErrorCategory.Unavailable,
        < 500 => ErrorCategory.Validation,
        _ => ErrorCategory.Internal,
    };
}
