using ServerlessFleet.Functions.Conventions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Functions.Devices;

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

    private static async Task<NoContent> PatchDeviceInventoryAsync(List<InventoryItem> items, DeviceCaller device, DeviceInventory inventory, CancellationToken ct)
    {
        await inventory.WriteAsync(device.Principal.Device, items, replace: false, ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> ReplaceDeviceInventoryAsync(List<InventoryItem> items, DeviceCaller device, DeviceInventory inventory, CancellationToken ct)
    {
        await inventory.WriteAsync(device.Principal.Device, items, replace: true, ct);
        return TypedResults.NoContent();
    }
}
