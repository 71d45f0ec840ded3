using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Devices;

public enum PredicateOperator { Eq, Ne, In, Nin, Gt, Gte, Lt, Lte, Exists }

/// <summary>
/// One <c>attr.&lt;scope&gt;.&lt;name&gt;=&lt;op&gt;:&lt;value&gt;</c> filter. Comparisons are numeric when both sides are
/// numbers, otherwise ordinal string comparisons; on an array attribute, eq/in match if any element does.
/// </summary>
public sealed record AttributePredicate(AttributeScope Scope, string Name, PredicateOperator Operator, IReadOnlyList<string> Operands)
{
    public static AttributePredicate Parse(string key, string expression)
    {
        var field = key;
        var parts = key.Split('.', 3);
        if (parts.Length != 3 || !AttributeRules.TryParseScope(parts[1], out var scope) || parts[2].Length == 0)
            throw FleetException.Validation(field, "Attribute filters look like attr.<scope>.<name>=<op>:<value> with scope identity, inventory, system or tags.");
        var colon = expression.IndexOf(':');
        var opText = colon < 0 ? expression : expression[..colon];
        if (!Enum.TryParse<PredicateOperator>(opText, ignoreCase: true, out var op) || int.TryParse(opText, out _))
            throw FleetException.Validation(field, $"Unknown operator '{opText}'; use eq, ne, in, nin, gt, gte, lt, lte or exists.");
        var operand = colon < 0 ? "" : expression[(colon + 1)..];
        IReadOnlyList<string> operands = op is PredicateOperator.In or PredicateOperator.Nin ? operand.Split(',') : [operand];
        if (op == PredicateOperator.Exists && operand is not ("true" or "false"))
            throw FleetException.Validation(field, "exists takes true or false.");
        if (op is not PredicateOperator.Exists && operand.Length == 0)
            throw FleetException.Validation(field, $"{opText} needs a value.");
        return new AttributePredicate(scope, parts[2], op, operands);
    }

    public bool Matches(IReadOnlyDictionary<string, JsonNode?>? scopeAttributes)
    {
        JsonNode? value = null;
        var exists = scopeAttributes is not null && scopeAttributes.TryGetValue(Name, out value) && value is not null;
        if (Operator == PredicateOperator.Exists) return exists == (Operands[0] == "true");
        if (!exists) return Operator is PredicateOperator.Ne or PredicateOperator.Nin;
        var elements = value is JsonArray array ? array.Select(e => e!).ToList() : [value!];
        return Operator switch
        {
            PredicateOperator.Eq => elements.Any(e => Compare(e, Operands[0]) == 0),
            PredicateOperator.Ne => elements.All(e => Compare(e, Operands[0]) != 0),
            PredicateOperator.In => elements.Any(e => Operands.Any(o => Compare(e, o) == 0)),
            PredicateOperator.Nin => elements.All(e => Operands.All(o => Compare(e, o) != 0)),
            PredicateOperator.Gt => elements.Any(e => Compare(e, Operands[0]) > 0),
            PredicateOperator.Gte => elements.Any(e => Compare(e, Operands[0]) >= 0),
            PredicateOperator.Lt => elements.Any(e => Compare(e, Operands[0]) < 0),
            PredicateOperator.Lte => elements.Any(e => Compare(e, Operands[0]) <= 0),
            _ => false,
        };
    }

    private static int Compare(JsonNode value, string operand)
    {
        var kind = value.GetValueKind();
        if (kind == JsonValueKind.Number && double.TryParse(operand, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            return double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture).CompareTo(number);
        var text = kind switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.ToJsonString(),
        };
        return string.CompareOrdinal(text, operand);
    }
}
