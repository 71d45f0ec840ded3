using Microsoft.Azure.Functions.Worker;
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
    [Function("PatchDeviceInventory"), Tags("Device API"), RequireDevice, HandledBy(nameof(PatchDeviceInventoryAsync))]
    [EndpointSummary("Upsert inventory attributes [{name, value}]")]
    public static Task<IResult> PatchDeviceInventory([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/device/v1/inventory")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ReplaceDeviceInventory"), Tags("Device API"), RequireDevice, HandledBy(nameof(ReplaceDeviceInventoryAsync))]
    [EndpointSummary("Replace the inventory [{name, value}]")]
    public static Task<IResult> ReplaceDeviceInventory([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/device/v1/inventory")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static Task<IResult> PatchDeviceInventoryAsync(List<InventoryItem> items, DeviceCaller device, DeviceStore devices, CancellationToken ct) =>
        WriteAsync(items, replace: false, device, devices, ct);

    private static Task<IResult> ReplaceDeviceInventoryAsync(List<InventoryItem> items, DeviceCaller device, DeviceStore devices, CancellationToken ct) =>
        WriteAsync(items, replace: true, device, devices, ct);

    internal static async Task<IResult> WriteAsync(List<InventoryItem> items, bool replace, DeviceCaller device, DeviceStore devices, CancellationToken ct)
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
