using System.Text.Json;
using System.Text.RegularExpressions;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>
/// Bad input the framework caught (a query value that does not parse, a body of the wrong shape) described in the
/// contract's terms: the field by its JSON name and what is wrong with it, never a .NET type.
/// </summary>
public static partial class BadInput
{
    public static (ErrorCategory, string, IReadOnlyDictionary<string, string[]>?) Describe(BadHttpRequestException e)
    {
        if (e.InnerException is JsonException json) return Describe(json);
        if (Binding().Match(e.Message) is { Success: true } bind)
            return Field(Camel(bind.Groups["name"].Value), $"'{bind.Groups["value"].Value}' is not a valid value.");
        if (Required().Match(e.Message) is { Success: true } required)
            return required.Groups["source"].Value.Contains("body", StringComparison.OrdinalIgnoreCase)
                ? Field("body", "A JSON body is required.")
                : Field(Camel(required.Groups["name"].Value), "This value is required.");
        if (e.Message.StartsWith("Failed to read parameter", StringComparison.Ordinal)) return Field("body", "The body is missing or is not JSON.");
        return (ErrorCategory.Validation, "The request is invalid.", null);
    }

    public static (ErrorCategory, string, IReadOnlyDictionary<string, string[]>?) Describe(JsonException e)
    {
        var field = e.Path is { Length: > 1 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : "body";
        var problem = e.Message.Contains("could not be converted", StringComparison.Ordinal) ? "This value has the wrong type or shape."
            : $"The JSON is not valid here: {Plain(e.Message)}";
        return Field(field, problem);
    }

    private static (ErrorCategory, string, IReadOnlyDictionary<string, string[]>?) Field(string field, string problem) =>
        (ErrorCategory.Validation, $"The request is invalid. {field}: {problem}", new Dictionary<string, string[]> { [field] = [problem] });

    /// <summary>The reader's own words, without positions and without any type name.</summary>
    private static string Plain(string message)
    {
        var text = message.Split([" Path:", " LineNumber:"], StringSplitOptions.None)[0].Trim();
        return TypeName().IsMatch(text) ? "unexpected content." : text;
    }

    private static string Camel(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];

    [GeneratedRegex(@"^Failed to bind parameter ""(?<type>.+?) (?<name>\w+)"" from ""(?<value>.*)""\.$", RegexOptions.Singleline)]
    private static partial Regex Binding();

    [GeneratedRegex(@"^Required parameter ""(?<type>.+?) (?<name>\w+)"" was not provided from (?<source>.+?)\.$", RegexOptions.Singleline)]
    private static partial Regex Required();

    [GeneratedRegex(@"System\.|ServerlessFleet\.|`\d|Nullable<")]
    private static partial Regex TypeName();
}
