using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>
/// Free-form JSON in request bodies (<see cref="JsonObject"/>, <see cref="JsonNode"/> fields such as an action's params
/// or a device identity) with a key twice, at any depth, is bad input. The serializer's own duplicate check covers
/// typed properties only; a JSON object read leniently fails later, when it is first enumerated.
/// </summary>
public static class UniqueKeysJson
{
    public static void AddTo(JsonSerializerOptions options)
    {
        options.Converters.Add(new ObjectConverter());
        options.Converters.Add(new NodeConverter());
    }

    private static JsonElement ReadUnique(ref Utf8JsonReader reader)
    {
        var element = JsonElement.ParseValue(ref reader);
        RequireUniqueKeys(element);
        return element;
    }

    private static void RequireUniqueKeys(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!names.Add(property.Name)) throw new JsonException($"The key '{property.Name}' appears more than once in one object.");
                    RequireUniqueKeys(property.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) RequireUniqueKeys(item);
                break;
        }
    }

    private sealed class ObjectConverter : JsonConverter<JsonObject>
    {
        public override JsonObject? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            ReadUnique(ref reader) is { ValueKind: JsonValueKind.Object } element ? JsonObject.Create(element)
                : throw new JsonException("An object was expected.");

        public override void Write(Utf8JsonWriter writer, JsonObject value, JsonSerializerOptions options) => value.WriteTo(writer, options);
    }

    private sealed class NodeConverter : JsonConverter<JsonNode>
    {
        public override bool HandleNull => true;

        public override JsonNode? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var element = ReadUnique(ref reader);
            return element.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.Object => JsonObject.Create(element),
                JsonValueKind.Array => JsonArray.Create(element),
                _ => JsonValue.Create(element),
            };
        }

        public override void Write(Utf8JsonWriter writer, JsonNode? value, JsonSerializerOptions options)
        {
            if (value is null) writer.WriteNullValue();
            else value.WriteTo(writer, options);
        }
    }
}
