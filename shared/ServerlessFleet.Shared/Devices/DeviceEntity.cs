using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;

namespace ServerlessFleet.Shared.Devices;

/// <summary>Maps <see cref="Device"/> to its table row; attributes are one JSON column per scope.</summary>
internal static class DeviceEntity
{
    public static TableEntity ToEntity(Device d)
    {
        var entity = new TableEntity(DeviceKeys.Partition(d.TenantId, d.Serial), DeviceKeys.DeviceRow)
        {
            ["TenantId"] = d.TenantId,
            ["Serial"] = d.Serial,
            ["Name"] = d.Name,
            ["OwnerRef"] = d.OwnerRef,
            ["HardwareVersion"] = d.HardwareVersion,
            ["DeviceType"] = d.DeviceType,
            ["Group"] = d.Group,
            // Delimited so that a whole-tag match is a substring test.
            ["Tags"] = d.Tags.Count == 0 ? "" : "|" + string.Join('|', d.Tags) + "|",
            ["Status"] = d.Status,
            ["Active"] = d.Status != DeviceStatuses.Decommissioned,
            ["CreatedAt"] = d.CreatedAt,
            ["UpdatedAt"] = d.UpdatedAt,
            ["LastSeen"] = d.LastSeen,
            ["Release"] = d.Release,
            ["BatteryPercent"] = d.BatteryPercent,
            ["Imei"] = d.Imei,
            ["TokensValidAfter"] = d.TokensValidAfter,
            ["InboxSeq"] = d.InboxSeq,
            [InvalidReportsColumn] = d.InvalidReports,
            ["RevokedTokens"] = d.RevokedTokens.Count == 0 ? null : JsonSerializer.Serialize(d.RevokedTokens),
            [DeploymentsColumn] = DeploymentsValue(d.Deployments),
        };
        foreach (var scope in Enum.GetValues<AttributeScope>())
        {
            var attributes = d.Scope(scope);
            if (attributes.Count == 0) continue;
            var json = new JsonObject(attributes.Select(a => KeyValuePair.Create(a.Key, a.Value?.DeepClone())));
            entity[Column(scope)] = json.ToJsonString();
        }
        return entity;
    }

    public static Device FromEntity(TableEntity e)
    {
        var attributes = new Dictionary<AttributeScope, IReadOnlyDictionary<string, JsonNode?>>();
        foreach (var scope in Enum.GetValues<AttributeScope>())
        {
            if (e.GetString(Column(scope)) is not { Length: > 0 } json) continue;
            var obj = JsonNode.Parse(json)!.AsObject();
            attributes[scope] = obj.ToDictionary(p => p.Key, p => p.Value?.DeepClone(), StringComparer.Ordinal);
        }
        var tags = e.GetString("Tags") ?? "";
        return new Device(
            e.GetString("TenantId")!, e.GetString("Serial")!, e.GetString("Name"), e.GetString("OwnerRef"),
            e.GetString("HardwareVersion") ?? "", e.GetString("DeviceType"), e.GetString("Group") ?? Device.UnassignedGroup,
            tags.Split('|', StringSplitOptions.RemoveEmptyEntries), e.GetString("Status") ?? DeviceStatuses.NoAuth,
            e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, e.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue,
            e.GetDateTimeOffset("LastSeen"), attributes, e.ETag)
        {
            TokensValidAfter = e.GetDateTimeOffset("TokensValidAfter"),
            InboxSeq = e.GetInt64("InboxSeq") ?? 0,
            InvalidReports = e.GetInt32(InvalidReportsColumn) ?? 0,
            RevokedTokens = e.GetString("RevokedTokens") is { Length: > 0 } revoked ? JsonSerializer.Deserialize<List<RevokedToken>>(revoked)! : [],
            Deployments = e.GetString(DeploymentsColumn) is { Length: > 0 } deployments
                ? JsonSerializer.Deserialize<DeviceDeploymentQueue>(deployments)! : DeviceDeploymentQueue.Empty,
        };
    }

    public const string DeploymentsColumn = "Deployments";
    public const string InvalidReportsColumn = "InvalidReports";

    /// <summary>Empty rather than null when there is none, so that a merge clears the column.</summary>
    public static string DeploymentsValue(DeviceDeploymentQueue queue) => queue.IsEmpty ? "" : JsonSerializer.Serialize(queue);

    public static string Column(AttributeScope scope) => "Attr" + scope;
}
