using System.Text.Json.Nodes;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Devices;

public sealed record InventoryItem(string? Name, JsonNode? Value);

/// <summary>A device reporting its inventory (scope <c>inventory</c>), for every transport: a merge, or a replacement of the whole scope.</summary>
public sealed class DeviceInventory(DeviceStore devices)
{
    public async Task WriteAsync(Device device, IReadOnlyList<InventoryItem?> items, bool replace, CancellationToken ct)
    {
        var attributes = items.Select(i => new DeviceAttribute(i?.Name!, i?.Value, AttributeScope.Inventory)).ToList();
        var errors = new ValidationErrors();
        AttributeRules.Validate(attributes, errors, "");
        errors.ThrowIfAny();
        await devices.UpdateAsync(device.TenantId, device.Serial,
            d => replace ? AttributeUpdates.Replace(d, [AttributeScope.Inventory], attributes) : AttributeUpdates.Upsert(d, attributes), null, ct);
    }
}
