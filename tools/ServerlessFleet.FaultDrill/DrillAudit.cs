using System.Net.Http.Json;
using System.Text.Json;
using ServerlessFleet.Simulator;

namespace ServerlessFleet.FaultDrill;

/// <summary>
/// Holds the platform to what its devices were told, read back through the operator API as an operator would:
/// every acknowledged install recorded once (one attempt, one timeline entry), every command the devices found in their
/// inbox kept in their history exactly once with the confirmation they were acknowledged, no deployment offered again
/// after its install, and no decision in a device's timeline twice.
/// </summary>
public sealed class DrillAudit(HttpClient operatorApi)
{
    /// <summary>Decisions a device's timeline holds at most once per deployment or action when nothing fails.</summary>
    private static readonly string[] OnceOnly = ["targeted", "offered", "installed", "delivered", "confirmed"];

    public async Task<(Dictionary<string, int> Recorded, List<string> Lost, List<string> Duplicates)> RunAsync(
        IReadOnlyList<Acknowledged> acknowledged, string deploymentId, string actionId, CancellationToken ct)
    {
        var lost = new List<string>();
        var duplicates = new List<string>();
        var records = (await ReadAllAsync($"/api/v1/deployments/{deploymentId}/devices", ct)).ToDictionary(r => r.GetProperty("serial").GetString()!);
        var recorded = new Dictionary<string, int> { ["installs"] = 0, ["commands"] = 0, ["confirmations"] = 0, ["timeline entries"] = 0 };
        foreach (var device in acknowledged.GroupBy(a => a.Serial))
        {
            var serial = device.Key;
            var ofDevice = device.ToList();
            CheckInstall(serial, ofDevice, records.GetValueOrDefault(serial), deploymentId, recorded, lost, duplicates);
            var history = (await ReadAllAsync($"/api/v1/devices/{serial}/actions", ct)).Where(e => e.GetProperty("actionId").GetString() == actionId).ToList();
            CheckCommand(serial, ofDevice, history, actionId, recorded, lost, duplicates);
            var timeline = await ReadAllAsync($"/api/v1/devices/{serial}/timeline", ct);
            CheckTimeline(serial, ofDevice, timeline, recorded, lost, duplicates);
        }
        return (recorded, lost, duplicates);
    }

    private static void CheckInstall(string serial, List<Acknowledged> device, JsonElement? record, string deploymentId, Dictionary<string, int> recorded,
        List<string> lost, List<string> duplicates)
    {
        var reported = device.Where(a => a.Kind == AcknowledgedKind.StatusReported && a.SubjectId == deploymentId).Select(a => a.Detail).ToList();
        if (!reported.Contains("success")) return;
        if (record?.GetProperty("status").GetString() != "success")
        {
            lost.Add($"{serial}: its install of {deploymentId} was acknowledged, the deployment records '{record?.GetProperty("status").GetString() ?? "nothing"}'");
            return;
        }
        recorded["installs"]++;
        if (record.Value.GetProperty("attempts").GetInt32() is var attempts and > 1) duplicates.Add($"{serial}: {attempts} attempts at {deploymentId}");
        if (device.Count(a => a.Kind == AcknowledgedKind.Offered && a.SubjectId == deploymentId) is var offers and > 1)
            duplicates.Add($"{serial}: offered {deploymentId} {offers} times");
    }

    private static void CheckCommand(string serial, List<Acknowledged> device, List<JsonElement> history, string actionId, Dictionary<string, int> recorded,
        List<string> lost, List<string> duplicates)
    {
        var deliveries = device.Where(a => a.Kind == AcknowledgedKind.Delivered && a.SubjectId == actionId).Select(a => a.Detail).Distinct().Count();
        if (deliveries > 1) duplicates.Add($"{serial}: found {actionId} in its inbox under {deliveries} sequence numbers");
        if (history.Count > 1) duplicates.Add($"{serial}: {history.Count} entries of {actionId} in its history");
        if (deliveries > 0 && history.Count == 0) lost.Add($"{serial}: found {actionId} in its inbox, its history has none");
        recorded["commands"] += Math.Min(history.Count, 1);
        if (device.Any(a => a.Kind == AcknowledgedKind.Confirmed && a.SubjectId == actionId))
        {
            if (history.Any(e => e.GetProperty("status").GetString() == "succeeded")) recorded["confirmations"]++;
            else lost.Add($"{serial}: its confirmation of {actionId} was acknowledged, its history says '{history.FirstOrDefault().GetPropertyOrNull("status")}'");
        }
    }

    private static void CheckTimeline(string serial, List<Acknowledged> device, List<JsonElement> timeline, Dictionary<string, int> recorded,
        List<string> lost, List<string> duplicates)
    {
        recorded["timeline entries"] += timeline.Count;
        var decisions = timeline.GroupBy(e => (Subject: e.GetProperty("subjectId").GetString()!, Decision: e.GetProperty("decision").GetString()!))
            .ToDictionary(g => g.Key, g => g.Count());
        foreach (var ((subject, decision), count) in decisions)
            if (count > 1 && OnceOnly.Contains(decision)) duplicates.Add($"{serial}: '{decision}' {count} times in its timeline for {subject}");
        foreach (var (subject, decision) in device
                     .Select(a => a switch
                     {
                         { Kind: AcknowledgedKind.StatusReported, Detail: "success" } => (a.SubjectId, "installed"),
                         { Kind: AcknowledgedKind.Confirmed } => (a.SubjectId, "confirmed"),
                         _ => default,
                     })
                     .Where(d => d.SubjectId is not null).Distinct())
            if (!decisions.ContainsKey((subject, decision))) lost.Add($"{serial}: no '{decision}' in its timeline for {subject}");
    }

    /// <summary>Every page of a list, 500 at a time.</summary>
    private async Task<List<JsonElement>> ReadAllAsync(string path, CancellationToken ct)
    {
        var all = new List<JsonElement>();
        string? after = null;
        do
        {
            var page = await operatorApi.GetFromJsonAsync<JsonElement>($"{path}?limit=500{(after is null ? "" : $"&after={Uri.EscapeDataString(after)}")}", ct);
            all.AddRange(page.GetProperty("data").EnumerateArray());
            after = page.TryGetProperty("nextPage", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        } while (after is not null);
        return all;
    }
}

internal static class JsonElementExtensions
{
    public static string? GetPropertyOrNull(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value.ToString() : null;
}
