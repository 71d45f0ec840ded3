namespace ServerlessFleet.Shared.Errors;

/// <summary>
/// The one exception type the domain throws for expected failures; the web layer maps it to the
/// contract's error JSON, so handlers never translate errors themselves.
/// </summary>
public sealed class FleetException(
    ErrorCategory category,
    string message,
    IReadOnlyDictionary<string, string[]>? errors = null) : Exception(message)
{
    public ErrorCategory Category { get; } = category;
    public IReadOnlyDictionary<string, string[]>? Errors { get; } = errors;

    /// <summary>When to try again, sent as <c>Retry-After</c> (seconds).</summary>
    public int? RetryAfterSeconds { get; init; }

    public static FleetException Validation(string field, string message) =>
        new(ErrorCategory.Validation, message, new Dictionary<string, string[]> { [field] = [message] });

    public static FleetException NotFound(string objectType, string id) =>
        new(ErrorCategory.NotFound, $"{objectType} '{id}' was not found.");

    public static FleetException Conflict(string message) => new(ErrorCategory.Conflict, message);

    public static FleetException Forbidden(string message) => new(ErrorCategory.Forbidden, message);

    public static FleetException Unauthenticated(string message) => new(ErrorCategory.Authentication, message);

    public static FleetException PreconditionFailed() =>
        new(ErrorCategory.PreconditionFailed, "The resource was changed by someone else (ETag mismatch).");
}
