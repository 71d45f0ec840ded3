using System.Net;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Auth;

/// <summary>
/// The single place where a route's declared access rule is enforced: 401 for a missing, unknown, revoked
/// or expired key or device token, 403 for a key without the route's scope. Device routes take device tokens
/// only, management routes API keys only. Trigger invocations are accepted only from loopback, where the
/// Functions host (or the local dispatcher) calls from.
/// </summary>
public sealed class ApiKeyAuthentication(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, ApiKeyAuthenticator authenticator, DeviceAuthenticator devices)
    {
        var endpoint = context.GetEndpoint();
        // Framework endpoints (the 405 answer for a known route) carry no access rule and run no application code.
        if (endpoint is not RouteEndpoint)
        {
            await next(context);
            return;
        }
        if (endpoint.Metadata.GetMetadata<TriggerFunctionMetadata>() is not null)
        {
            if (context.Connection.RemoteIpAddress is { } ip && !IPAddress.IsLoopback(ip))
                throw new FleetException(ErrorCategory.NotFound, ErrorResponses.DefaultMessage(404));
            await next(context);
            return;
        }

        switch (endpoint.Metadata.GetMetadata<AccessMetadata>())
        {
            case AnonymousAccess:
                break;
            case ApiKeyAccess access:
                var principal = await AuthenticateAsync(context, authenticator);
                if (access.Scope is not null && !principal.Has(access.Scope))
                    throw FleetException.Forbidden($"This operation requires the '{access.Scope}' scope.");
                Caller.Set(context, principal);
                break;
            case DeviceAccess:
                var header = context.Request.Headers.Authorization.ToString();
                var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
                var device = token is null ? null : await devices.AuthenticateAsync(token, context.RequestAborted);
                if (device is null)
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    throw FleetException.Unauthenticated("A valid device token is required (Authorization: Bearer <token> from POST /api/device/v1/auth).");
                }
                DeviceCaller.Set(context, device);
                break;
            case BootstrapAccess:
                var bootstrap = await AuthenticateAsync(context, authenticator);
                if (!bootstrap.IsBootstrap) throw FleetException.Forbidden("This operation requires the bootstrap key.");
                Caller.Set(context, bootstrap);
                break;
            default:
                // Fail closed: a route without an access rule is a programming error, never an open door.
                throw new InvalidOperationException($"Endpoint '{endpoint.DisplayName}' declares no access rule.");
        }
        await next(context);
    }

    private static async Task<FleetPrincipal> AuthenticateAsync(HttpContext context, ApiKeyAuthenticator authenticator)
    {
        var credential = ApiKeyCredential.FromAuthorization(context.Request.Headers.Authorization)
            ?? ApiKeyCredential.FromXAuth(context.Request.Headers["X-Auth"]);
        if (credential is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            throw FleetException.Unauthenticated("An API key is required (Authorization: Bearer <key>, Authorization: basic <key> or X-Auth: <keyId>:<secret>).");
        }
        return await authenticator.AuthenticateAsync(credential, context.RequestAborted)
            ?? throw FleetException.Unauthenticated("The API key is not valid, has been revoked or has expired.");
    }
}
