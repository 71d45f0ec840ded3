using System.Reflection;
using ServerlessFleet.Shared.Auth;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>The authenticated caller of a request, bound as a handler parameter.</summary>
public sealed record Caller(FleetPrincipal Principal)
{
    private const string ItemKey = "fleet.caller";

    public string TenantId => Principal.TenantId;
    public string KeyId => Principal.KeyId;

    internal static void Set(HttpContext context, FleetPrincipal principal) => context.Items[ItemKey] = new Caller(principal);

    public static Caller From(HttpContext context) =>
        Find(context) ?? throw new InvalidOperationException("The request has no authenticated caller.");

    /// <summary>The request's caller, when an API key authenticated it.</summary>
    internal static Caller? Find(HttpContext context) => context.Items.TryGetValue(ItemKey, out var caller) ? caller as Caller : null;

    public static ValueTask<Caller?> BindAsync(HttpContext context, ParameterInfo parameter) => ValueTask.FromResult<Caller?>(From(context));
}
