namespace ServerlessFleet.Shared.Errors;

/// <summary>Collects field errors so one request reports every problem at once.</summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool HasErrors => _errors.Count > 0;

    /// <summary>An optional text field: absent, or 1 to <paramref name="max"/> characters.</summary>
    public void CheckText(string field, string? value, int max) =>
        Require(value is null || value.Length is > 0 && value.Length <= max, field, $"{field} must be 1-{max} characters.");

    public ValidationErrors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
        return this;
    }

    public ValidationErrors Require(bool condition, string field, string message) =>
        condition ? this : Add(field, message);

    public void ThrowIfAny()
    {
        if (!HasErrors) return;
        var fields = _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
        var summary = string.Join(" ", fields.SelectMany(f => f.Value.Select(m => $"{f.Key}: {m}")));
        throw new FleetException(ErrorCategory.Validation, $"The request is invalid. {summary}", fields);
    }
}
