using System.Reflection;
using ServerlessFleet.Shared.DeviceAuth;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>The authenticated device of a device-API request, bound as a handler parameter.</summary>
public sealed record DeviceCaller(DevicePrincipal Principal)
{
    private const string ItemKey = "fleet.device";

    public string TenantId => Principal.TenantId;
    public string Serial => Principal.Serial;

    internal static void Set(HttpContext context, DevicePrincipal principal) => context.Items[ItemKey] = new DeviceCaller(principal);

    /// <summary>The request's device, when it is a device request that authenticated.</summary>
    internal static DeviceCaller? Find(HttpContext context) => context.Items.TryGetValue(ItemKey, out var caller) ? caller as DeviceCaller : null;

    public static ValueTask<DeviceCaller?> BindAsync(HttpContext context, ParameterInfo parameter) =>
        ValueTask.FromResult<DeviceCaller?>(Find(context) ?? throw new InvalidOperationException($"'{parameter.Name}' needs a device function (RequireDevice)."));
}
