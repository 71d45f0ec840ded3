using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Actions;

/// <summary>The device actions of API.md, the scope each needs, and what its parameters must look like.</summary>
public static class ActionTypes
{
    public const string Screenshot = "screenshot";

    private static readonly Dictionary<string, string> Scope = new(StringComparer.Ordinal)
    {
        ["refresh"] = Scopes.NotifyRefresh,
        ["check-update"] = Scopes.NotifyCheck,
        ["reboot"] = Scopes.NotifyReboot,
        ["shutdown"] = Scopes.NotifyShutdown,
        ["wipe"] = Scopes.NotifyWipe,
        ["refurbish"] = Scopes.NotifyRefurbish,
        ["application"] = Scopes.NotifyApplication,
        ["display-power-on"] = Scopes.NotifyDisplay,
        ["display-power-off"] = Scopes.NotifyDisplay,
        ["app-restart"] = Scopes.NotifyDisplay,
        ["set-brightness"] = Scopes.NotifySettings,
        ["set-volume"] = Scopes.NotifySettings,
        ["set-time"] = Scopes.NotifySettings,
        ["set-timers"] = Scopes.NotifySettings,
        [Screenshot] = Scopes.NotifyScreenshot,
    };

    public static IReadOnlyCollection<string> All => Scope.Keys;

    public static string? RequiredScope(string type) => Scope.GetValueOrDefault(type);

    /// <summary>Checks the parameters of <paramref name="type"/>; returns them normalised (an empty object when none).</summary>
    public static JsonObject ValidateParams(string type, JsonObject? parameters, ValidationErrors errors)
    {
        var p = parameters ?? [];
        string[] allowed = type switch
        {
            "application" => ["targetApps", "command", "args"],
            "set-brightness" => ["brightness", "brightness2", "timeFrom"],
            "set-volume" => ["volume"],
            "set-time" => ["time", "timezone", "ntpServer"],
            "set-timers" => ["timers"],
            _ => [],
        };
        foreach (var key in p.Select(k => k.Key).Where(k => !allowed.Contains(k)))
            errors.Add($"params.{key}", allowed.Length == 0 ? $"{type} takes no parameters." : $"{type} takes {string.Join(", ", allowed)}.");
        switch (type)
        {
            case "application":
                errors.Require(Strings(p["targetApps"]) is { Count: > 0 and <= 50 }, "params.targetApps", "targetApps lists 1-50 application ids.");
                errors.Require(p["command"] is JsonValue c && c.TryGetValue<string>(out var command) && command.Length is > 0 and <= 256, "params.command", "command is required (1-256 characters).");
                errors.Require(p["args"] is null || Strings(p["args"]) is { Count: <= 50 }, "params.args", "args is a list of at most 50 strings.");
                break;
            case "set-brightness":
                errors.Require(Percent(p["brightness"]), "params.brightness", "brightness is 0-100.");
                errors.Require(p["brightness2"] is null || Percent(p["brightness2"]), "params.brightness2", "brightness2 is 0-100.");
                errors.Require((p["brightness2"] is null) == (p["timeFrom"] is null), "params.timeFrom", "A second brightness level needs timeFrom (HH:mm), and timeFrom needs brightness2.");
                errors.Require(p["timeFrom"] is null || ClockTime(p["timeFrom"]), "params.timeFrom", "timeFrom is HH:mm.");
                break;
            case "set-volume":
                errors.Require(Percent(p["volume"]), "params.volume", "volume is 0-100.");
                break;
            case "set-time":
                errors.Require(p["time"] is JsonValue t && t.TryGetValue<string>(out var time) && DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
                    "params.time", "time is an RFC 3339 timestamp.");
                errors.Require(p["timezone"] is JsonValue z && z.TryGetValue<string>(out var zone) && TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _),
                    "params.timezone", "timezone is an IANA time zone (e.g. Europe/Berlin).");
                errors.Require(p["ntpServer"] is null || p["ntpServer"] is JsonValue n && n.TryGetValue<string>(out var host) && Uri.CheckHostName(host) != UriHostNameType.Unknown,
                    "params.ntpServer", "ntpServer is a host name or address.");
                break;
            case "set-timers":
                var timers = p["timers"] as JsonArray;
                errors.Require(timers is { Count: > 0 and <= 14 }, "params.timers", "timers lists 1-14 {day, on, off} entries.");
                for (var i = 0; i < (timers?.Count ?? 0); i++)
                {
                    var timer = timers![i] as JsonObject;
                    errors.Require(timer?["day"] is JsonValue d && d.TryGetValue<string>(out var day) && Days.Contains(day) && ClockTime(timer["on"]) && ClockTime(timer["off"]),
                        $"params.timers[{i}]", "A timer is {day: mon..sun, on: HH:mm, off: HH:mm}.");
                }
                break;
        }
        return p;
    }

    private static readonly HashSet<string> Days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    private static List<string>? Strings(JsonNode? node) =>
        node is JsonArray a && a.All(e => e is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length is > 0 and <= 256)
            ? a.Select(e => e!.GetValue<string>()).ToList() : null;

    private static bool Percent(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture) is >= 0 and <= 100;

    private static bool ClockTime(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) && TimeOnly.TryParseExact(s, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
}
