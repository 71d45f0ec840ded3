using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Tenants;

namespace ServerlessFleet.Functions.DeviceAuth;

public sealed record DeviceTokenResponse(string Token, DateTimeOffset ExpiresAt);
public sealed record CountResponse(int Count);
/// <summary>The device authentication body (read and verified as signed bytes, so described here rather than bound).</summary>
public sealed record DeviceAuthRequest(JsonObject Identity, string PublicKey, string TenantToken);

/// <summary>Mender's device authentication (API.md §3) and admission management (§2 "Device admission").</summary>
public static class DeviceAuthApi
{
    public const string SignatureHeader = "X-Fleet-Signature";

    [Function("AuthenticateDevice"), Tags("Device API"), Accepts<DeviceAuthRequest>("application/json"),
        RequestHeader(SignatureHeader, "Base64 signature of the exact request body with the device's private key", Required = true), ProducesResponseType<DeviceTokenResponse>(200), AllowAnonymousAccess, HandledBy(nameof(AuthenticateAsync))]
    [EndpointSummary($"Device authentication: body {{identity{{serial,…}}, publicKey (PEM), tenantToken}} signed in {SignatureHeader} (base64; RSA PKCS#1 v1.5 SHA-256, ECDSA P-256 SHA-256 DER or raw r|s, or Ed25519). 200 with a token when accepted; 401 while pending or when rejected")]
    public static Task<IResult> AuthenticateDevice([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/device/v1/auth")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ListAuthSets"), Tags("Device admission"), RequireScope(Scopes.FleetManager), HandledBy(nameof(ListAsync))]
    [EndpointSummary("Auth sets by status (pending, accepted, rejected, preauthorized)")]
    public static Task<IResult> ListAuthSets([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/device-auth")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("CountDevicesByStatus"), Tags("Device admission"), RequireScope(Scopes.FleetManager), HandledBy(nameof(CountAsync))]
    [EndpointSummary("Number of devices with an admission status")]
    public static Task<IResult> CountDevicesByStatus([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/device-auth/count")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("PreauthorizeDevice"), Tags("Device admission"), RequireScope(Scopes.FleetManager), HandledBy(nameof(PreauthorizeAsync))]
    [EndpointSummary("Preauthorize identity + public key: the device is accepted on its first matching request")]
    public static Task<IResult> PreauthorizeDevice([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/device-auth/preauthorize")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("RevokeDeviceToken"), Tags("Device admission"), RequireScope(Scopes.FleetManager), HandledBy(nameof(RevokeTokenAsync))]
    [EndpointSummary("Revoke a device token; the device must authenticate again")]
    public static Task<IResult> RevokeDeviceToken([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/device-auth/tokens/{jti}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("SetAuthSetStatus"), Tags("Device admission"), RequireScope(Scopes.FleetManager), HandledBy(nameof(SetStatusAsync))]
    [EndpointSummary("Accept or reject an auth set (pending→accepted|rejected, rejected→accepted, accepted→rejected)")]
    public static Task<IResult> SetAuthSetStatus([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/devices/{serial}/auth/{authSetId}/status")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static readonly SignInRefusals Refusals = new("The signature does not match the body and public key.", "Unknown tenant token.",
        "The device is pending admission.", "The device is not admitted.");

    private static async Task<Ok<DeviceTokenResponse>> AuthenticateAsync(HttpContext context, DeviceSignIn signIn, CancellationToken ct)
    {
        var body = await SignedBodies.ReadAsync(context.Request, ct);
        var signature = SignedBodies.Signature(context.Request, SignatureHeader)
            ?? throw FleetException.Unauthenticated($"{SignatureHeader} must hold the base64 signature of the request body.");
        var request = SignedBodies.ParseObject(body, "body", e => $"The body is not a JSON object: {e.Message}");

        var errors = new ValidationErrors();
        var identity = request["identity"] as JsonObject;
        var serial = SignedBodies.Text(identity?["serial"]);
        errors.Require(serial is not null && DeviceIdentities.SerialPattern().IsMatch(serial), "identity.serial", "identity.serial is required: 1-128 of A-Z a-z 0-9 . _ : -");
        var key = DevicePublicKey.TryParse(SignedBodies.Text(request["publicKey"]));
        errors.Require(key is not null, "publicKey", "publicKey must be a PEM public key: RSA (2048+ bits), ECDSA P-256 or Ed25519.");
        var tenantToken = SignedBodies.Text(request["tenantToken"]);
        errors.Require(tenantToken is not null, "tenantToken", "tenantToken is required.");
        errors.ThrowIfAny();

        var token = await signIn.SignInAsync(new SignedAuthRequest(body, signature, serial!, identity!, key!, tenantToken), Refusals, ct);
        return TypedResults.Ok(new DeviceTokenResponse(token.Token, token.ExpiresAt));
    }

    private static async Task<Ok<PagedResponse<AuthSetResponse>>> ListAsync(HttpContext context, string? status, [AsParameters] PagingQuery paging,
        Caller caller, Paging pages, DeviceAdmission admission, CancellationToken ct)
    {
        if (status is not null && !AuthSetStatuses.All.Contains(status))
            throw FleetException.Validation("status", "status is pending, accepted, rejected or preauthorized.");
        var page = await admission.ListAsync(caller.TenantId, status, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(AuthSetResponse.From)));
    }

    private static async Task<Ok<CountResponse>> CountAsync(string? status, Caller caller, DeviceStore devices, CancellationToken ct)
    {
        if (status is not null && !DeviceStatuses.All.Contains(status))
            throw FleetException.Validation("status", "status is noauth, pending, accepted, rejected, preauthorized or decommissioned.");
        return TypedResults.Ok(new CountResponse(await devices.CountAsync(caller.TenantId, status, ct)));
    }

    private static async Task<Created<AuthSetResponse>> PreauthorizeAsync(PreauthorizeRequest request, AdmissionControl control, Auditor audit, CancellationToken ct) =>
        TypedResults.Created($"/api/v1/device-auth?status=preauthorized", AuthSetResponse.From(await control.PreauthorizeAsync(audit.Actor(), request, ct)));

    private static async Task<NoContent> RevokeTokenAsync(string jti, AdmissionControl control, Auditor audit, CancellationToken ct)
    {
        await control.RevokeTokenAsync(audit.Actor(), jti, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<AuthSetResponse>> SetStatusAsync(string serial, string authSetId, AuthSetStatusRequest request, AdmissionControl control,
        Auditor audit, CancellationToken ct) =>
        TypedResults.Ok(AuthSetResponse.From(await control.SetStatusAsync(audit.Actor(), serial, authSetId, request, ct)));
}

/// <summary>A decommissioned device's auth sets go; if it returns it is a pending device again.</summary>
internal sealed class ForgetAuthSetsOnDecommission(DeviceAdmission admission) : IDeviceDecommissionHook
{
    public Task OnDecommissionedAsync(Device device, CancellationToken ct) => admission.ForgetAuthSetsAsync(device.TenantId, device.Serial, ct);
}
