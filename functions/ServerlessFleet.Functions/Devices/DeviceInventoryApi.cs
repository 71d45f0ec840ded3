using System.Text.Json.Nodes;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Devices;

public sealed record InventoryItem(string? Name, JsonNode? Value);

/// <summary>The device reports its inventory (scope <c>inventory</c>): PATCH merges, PUT replaces.</summary>
public static class DeviceInventoryApi
{
    public static IEndpointRouteBuilder MapDeviceInventoryApi(this IEndpointRouteBuilder app)
    {
        app.MapPatch("/api/device/v1/inventory", (List<InventoryItem> items, DeviceCaller device, DeviceStore devices, CancellationToken ct) =>
                WriteAsync(items, replace: false, device, devices, ct))
            .WithName("PatchDeviceInventory").WithTags("Device API").WithSummary("Upsert inventory attributes [{name, value}]").RequireDevice();
        app.MapPut("/api/device/v1/inventory", (List<InventoryItem> items, DeviceCaller device, DeviceStore devices, CancellationToken ct) =>
                WriteAsync(items, replace: true, device, devices, ct))
            .WithName("ReplaceDeviceInventory").WithTags("Device API").WithSummary("Replace the inventory [{name, value}]").RequireDevice();
        return app;
    }

    private static async Task<IResult> WriteAsync(List<InventoryItem> items, bool replace, DeviceCaller device, DeviceStore devices, CancellationToken ct)
    {
        var attributes = items.Select(i => new DeviceAttribute(i?.Name!, i?.Value, AttributeScope.Inventory)).ToList();
        var errors = new ValidationErrors();
        AttributeRules.Validate(attributes, errors, "");
        errors.ThrowIfAny();
        await devices.UpdateAsync(device.TenantId, device.Serial,
            d => replace ? AttributeUpdates.Replace(d, [AttributeScope.Inventory], attributes) : AttributeUpdates.Upsert(d, attributes), null, ct);
        return Results.NoContent();
    }
}
