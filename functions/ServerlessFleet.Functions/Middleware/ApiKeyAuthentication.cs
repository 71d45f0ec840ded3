using ServerlessFleet.Functions.Conventions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Middleware;

/// <summary>
/// The single place where an HTTP function's declared access rule is enforced: 401 for a missing, unknown, revoked
/// or expired key or device token, 403 for a key without the function's scope. Device functions take device tokens
/// only, management functions API keys only.
/// </summary>
public sealed class ApiKeyAuthentication(FunctionCatalog catalog, ApiKeyAuthenticator authenticator, DeviceAuthenticator devices) : HttpFunctionMiddleware
{
    protected override async Task InvokeAsync(FunctionContext function, HttpContext context, FunctionExecutionDelegate next)
    {
        switch (catalog.Get(function.FunctionDefinition.Name).Access)
        {
            case AllowAnonymousAccessAttribute:
                break;
            case RequireScopeAttribute scoped:
                var principal = await AuthenticateAsync(context);
                if (!principal.Has(scoped.Scope)) throw FleetException.Forbidden($"This operation requires the '{scoped.Scope}' scope.");
                Caller.Set(context, principal);
                break;
            case RequireApiKeyAttribute:
                Caller.Set(context, await AuthenticateAsync(context));
                break;
            case RequireDeviceAttribute:
                var header = context.Request.Headers.Authorization.ToString();
                var device = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? await devices.AuthenticateAsync(header.AsMemory(7).Trim(), context.RequestAborted)
                    : null;
                if (device is null)
                    throw FleetException.Unauthenticated("A valid device token is required (Authorization: Bearer <token> from POST /api/device/v1/auth).");
                DeviceCaller.Set(context, device);
                break;
            case RequireBootstrapKeyAttribute:
                var bootstrap = await AuthenticateAsync(context);
                if (!bootstrap.IsBootstrap) throw FleetException.Forbidden("This operation requires the bootstrap key.");
                Caller.Set(context, bootstrap);
                break;
            default:
                // Fail closed: a function without an access rule is a programming error, never an open door.
                throw new InvalidOperationException($"Function '{function.FunctionDefinition.Name}' declares no access rule.");
        }
        await next(function);
    }

    private async Task<FleetPrincipal> AuthenticateAsync(HttpContext context)
    {
        var credential = ApiKeyCredential.FromAuthorization(context.Request.Headers.Authorization)
            ?? ApiKeyCredential.FromXAuth(context.Request.Headers["X-Auth"])
            ?? throw FleetException.Unauthenticated("An API key is required (Authorization: Bearer <key>, Authorization: basic <key> or X-Auth: <keyId>:<secret>).");
        return await authenticator.AuthenticateAsync(credential, context.RequestAborted)
            ?? throw FleetException.Unauthenticated("The API key is not valid, has been revoked or has expired.");
    }
}
