using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Devices;

/// <summary>Mender's inventory scopes: who owns an attribute.</summary>
public enum AttributeScope
{
    /// <summary>From device authentication (the identity data a device presents).</summary>
    Identity,
    /// <summary>Reported by the device.</summary>
    Inventory,
    /// <summary>Set by the server.</summary>
    System,
    /// <summary>Set by users.</summary>
    Tags,
}

public sealed record DeviceAttribute(string Name, JsonNode? Value, AttributeScope Scope);

/// <summary>
/// Attribute names, values and limits. Values are a string, a number, a bool, or a non-empty homogeneous
/// array of one of those; anything else is a 400 naming the offending attribute.
/// </summary>
public static partial class AttributeRules
{
    public const int MaxPerScope = 100;
    public const int MaxStringLength = 1024;
    public const int MaxArrayLength = 100;
    /// <summary>The serialized attributes of one scope; keeps a device row within Table limits.</summary>
    public const int MaxScopeJsonLength = 30_000;

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex NamePattern();

    public static bool TryParseScope(string? text, out AttributeScope scope) =>
        Enum.TryParse(text, ignoreCase: true, out scope) && Enum.IsDefined(scope) && !int.TryParse(text, out _);

    public static string ScopeName(this AttributeScope scope) => scope.ToString().ToLowerInvariant();

    public static void Validate(IReadOnlyList<DeviceAttribute> attributes, ValidationErrors errors, string field = "attributes")
    {
        for (var i = 0; i < attributes.Count; i++)
        {
            var a = attributes[i];
            var at = $"{field}[{i}]";
            if (!NamePattern().IsMatch(a.Name ?? "")) errors.Add($"{at}.name", "name must be 1-128 letters, digits, '.', '_', ':' or '-'.");
            if (ValueProblem(a.Value) is { } problem) errors.Add($"{at}.value", problem);
        }
        foreach (var dup in attributes.GroupBy(a => (a.Name, a.Scope)).Where(g => g.Count() > 1))
            errors.Add(field, $"Attribute '{dup.Key.Name}' appears more than once in scope {dup.Key.Scope.ScopeName()}.");
    }

    private static string? ValueProblem(JsonNode? value)
    {
        switch (value)
        {
            case null:
                return "value is required (string, number, bool or a homogeneous array).";
            case JsonValue v:
                return ScalarProblem(v);
            case JsonArray array:
                if (array.Count == 0) return "an array value must not be empty.";
                if (array.Count > MaxArrayLength) return $"an array value holds at most {MaxArrayLength} elements.";
                if (array.Any(e => e is not JsonValue)) return "array elements must be strings, numbers or bools.";
                var kinds = array.Select(e => e!.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? JsonValueKind.True : e.GetValueKind()).Distinct().ToList();
                if (kinds.Count > 1) return "array elements must all be of one type (mixed arrays are not allowed).";
                return array.Select(e => ScalarProblem((JsonValue)e!)).FirstOrDefault(p => p is not null);
            default:
                return "objects are not allowed as attribute values.";
        }
    }

    private static string? ScalarProblem(JsonValue v) => v.GetValueKind() switch
    {
        JsonValueKind.String when v.GetValue<string>().Length > MaxStringLength => $"strings are at most {MaxStringLength} characters.",
        JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => null,
        _ => "value must be a string, number or bool.",
    };
}
