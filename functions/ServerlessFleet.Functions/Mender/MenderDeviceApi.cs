using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Mender;

/// <summary>Mender's auth request (read and verified as signed bytes, so described here rather than bound).</summary>
public sealed record MenderAuthRequest(
    [property: JsonPropertyName("id_data")] string IdData,
    [property: JsonPropertyName("pubkey")] string Pubkey,
    [property: JsonPropertyName("tenant_token")] string? TenantToken);

public sealed record MenderNextRequest(
    [property: JsonPropertyName("device_provides")] Dictionary<string, JsonNode?>? DeviceProvides,
    [property: JsonPropertyName("update_control_map")] bool? UpdateControlMap);

public sealed record MenderSource([property: JsonPropertyName("uri")] Uri Uri, [property: JsonPropertyName("expire")] DateTimeOffset Expire);

public sealed record MenderArtifact(
    [property: JsonPropertyName("artifact_name")] string ArtifactName,
    [property: JsonPropertyName("source")] MenderSource Source,
    [property: JsonPropertyName("device_types_compatible")] IReadOnlyList<string> DeviceTypesCompatible);

public sealed record MenderDeploymentInstructions([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("artifact")] MenderArtifact Artifact)
{
    public static MenderDeploymentInstructions From(NextDeploymentResponse offer) => new(offer.DeploymentId,
        new MenderArtifact(offer.Artifact.Name, new MenderSource(offer.Artifact.Uri, offer.Artifact.ExpiresAt), offer.Artifact.DeviceTypesCompatible));
}

public sealed record MenderAttribute(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("value")] JsonNode? Value,
    [property: JsonPropertyName("description")] string? Description);

/// <summary>
/// The device side of Mender's API (devauth, deployments v1/v2, inventory) on Mender's own paths and snake_case
/// bodies, so unmodified Mender clients work by pointing them at this server. Every route makes the same decisions as
/// the native device API: one admission, one poll decision, one status machine.
/// </summary>
public static class MenderDeviceApi
{
    public const string SignatureHeader = "X-MEN-Signature";
    private const string Tag = "Mender-compatible device API";

    [Function("MenderAuthRequest"), Tags(Tag), Accepts<MenderAuthRequest>("application/json"), AllowAnonymousAccess, HandledBy(nameof(AuthenticateAsync)),
        RequestHeader(SignatureHeader, "Base64 signature of the exact body (RSA PKCS#1 v1.5 SHA-256, ECDSA P-256 ASN.1, Ed25519)", Required = true)]
    [EndpointSummary("Mender device authentication: 200 with the JWT as the raw body once accepted or preauthorized; 401 while pending or rejected. The Authorization header is not read here.")]
    public static Task<IResult> AuthRequest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/devices/v1/authentication/auth_requests")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MenderNextDeploymentGet"), Tags(Tag), ProducesResponseType<MenderDeploymentInstructions>(200), ProducesResponseType(204), RequireDevice, HandledBy(nameof(NextFromQueryAsync))]
    [EndpointSummary("Mender v1 poll: ?artifact_name=&device_type= (both required); 204 when nothing is due")]
    public static Task<IResult> NextGet([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/devices/v1/deployments/device/deployments/next")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MenderNextDeploymentPost"), Tags(Tag), ProducesResponseType<MenderDeploymentInstructions>(200), ProducesResponseType(204), RequireDevice, HandledBy(nameof(NextFromProvidesAsync))]
    [EndpointSummary("Mender v1 poll with the device's provides: {device_type, artifact_name, …}")]
    public static Task<IResult> NextPost([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/devices/v1/deployments/device/deployments/next")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MenderNextDeploymentV2"), Tags(Tag), ProducesResponseType<MenderDeploymentInstructions>(200), ProducesResponseType(204), RequireDevice, HandledBy(nameof(NextV2Async))]
    [EndpointSummary("Mender v2 poll: {device_provides {device_type, artifact_name, …}, update_control_map}; no Update Control Map is ever sent")]
    public static Task<IResult> NextV2([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/devices/v2/deployments/device/deployments/next")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MenderDeploymentStatus"), Tags(Tag), RequireDevice, HandledBy(nameof(StatusAsync))]
    [EndpointSummary("{status, substate?}: downloading, pause_before_*, installing, rebooting, success, failure, already-installed; 409 \"Status already set to aborted\"")]
    public static Task<IResult> Status([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/devices/v1/deployments/device/deployments/{id}/status")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MenderDeploymentLog"), Tags(Tag), RequireDevice, HandledBy(nameof(LogAsync))]
    [EndpointSummary("{messages [{timestamp, level, message}]}")]
    public static Task<IResult> Log([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/devices/v1/deployments/device/deployments/{id}/log")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MenderInventoryPatch"), Tags(Tag), RequireDevice, HandledBy(nameof(PatchInventoryAsync))]
    [EndpointSummary("Upsert inventory [{name, value, description}]: values are strings, numbers or arrays of one of them; device_type sets the device's type")]
    public static Task<IResult> InventoryPatch([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/devices/v1/inventory/device/attributes")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MenderInventoryPut"), Tags(Tag), RequireDevice, HandledBy(nameof(ReplaceInventoryAsync))]
    [EndpointSummary("Replace the inventory [{name, value, description}]")]
    public static Task<IResult> InventoryPut([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/devices/v1/inventory/device/attributes")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("MenderDeviceConfig"), Tags(Tag), AllowAnonymousAccess, HandledBy(nameof(Unsupported)), ExcludeFromDescription]
    [EndpointSummary("Mender device configuration is not offered: 404 saying so")]
    public static Task<IResult> DeviceConfig([HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete",
        Route = "api/devices/v1/deviceconfig/{*rest}")] HttpRequest req) => FunctionHandlers.RunAsync(req);

    [Function("MenderDeviceConnect"), Tags(Tag), AllowAnonymousAccess, HandledBy(nameof(Unsupported)), ExcludeFromDescription]
    [EndpointSummary("Mender remote terminal, port forwarding and file transfer are not offered: 404 saying so")]
    public static Task<IResult> DeviceConnect([HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete",
        Route = "api/devices/v1/deviceconnect/{*rest}")] HttpRequest req) => FunctionHandlers.RunAsync(req);

    [Function("MenderUpdateControlMap"), Tags(Tag), RequireDevice, HandledBy(nameof(Unsupported))]
    [EndpointSummary("Update Control Maps are not offered: 404 saying so")]
    public static Task<IResult> UpdateControlMap([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/devices/v2/deployments/device/deployments/{id}/update_control_map")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static readonly SignInRefusals Refusals = new("device unauthorized: the signature does not match the body and public key.",
        "device unauthorized: unknown tenant token.", "device unauthorized: pending admission.", "device unauthorized.");

    private static async Task<IResult> AuthenticateAsync(HttpContext context, DeviceSignIn signIn, CancellationToken ct)
    {
        var body = await SignedBodies.ReadAsync(context.Request, ct);
        var request = SignedBodies.ParseObject(body, "body", e => $"The body is not a JSON object: {e.Message}");
        var idData = Text(request["id_data"]) ?? throw FleetException.Validation("id_data", "missing required parameter: id_data");
        var identity = SignedBodies.ParseObject(idData, "id_data", _ => "id_data must be a JSON object encoded as a string, e.g. \"{\\\"mac\\\":\\\"00:01:02:03:04:05\\\"}\".");
        if (identity.Count == 0) throw FleetException.Validation("id_data", "id_data names no identity attribute.");
        var serial = DeviceIdentities.SerialOf(identity) ?? throw FleetException.Validation("id_data", "id_data.serial must be 1-128 of A-Z a-z 0-9 . _ : -");
        var key = DevicePublicKey.TryParse(Text(request["pubkey"]) ?? throw FleetException.Validation("pubkey", "missing required parameter: pubkey"))
            ?? throw FleetException.Validation("pubkey", "pubkey must be a PEM public key: RSA (2048+ bits), ECDSA P-256 or Ed25519.");
        var signature = SignedBodies.Signature(context.Request, SignatureHeader)
            ?? throw FleetException.Unauthenticated($"{SignatureHeader} must hold the base64 signature of the request body.");
        var tenantToken = Text(request["tenant_token"]) is { Length: > 0 } token ? token : null;
        var issued = await signIn.SignInAsync(new SignedAuthRequest(body, signature, serial, identity, key, tenantToken), Refusals, ct);
        return Results.Text(issued.Token, "application/jwt");
    }

    private static Task<IResult> NextFromQueryAsync([FromQuery(Name = "artifact_name")] string? artifactName, [FromQuery(Name = "device_type")] string? deviceType,
        DeviceCaller caller, DevicePoll poll, CancellationToken ct) =>
        NextAsync(artifactName, deviceType, caller, poll, ct);

    private static Task<IResult> NextFromProvidesAsync(Dictionary<string, JsonNode?> provides, DeviceCaller caller, DevicePoll poll, CancellationToken ct) =>
        NextAsync(Text(provides.GetValueOrDefault("artifact_name")), Text(provides.GetValueOrDefault("device_type")), caller, poll, ct);

    private static Task<IResult> NextV2Async(MenderNextRequest request, DeviceCaller caller, DevicePoll poll, CancellationToken ct)
    {
        var provides = request.DeviceProvides ?? throw FleetException.Validation("device_provides", "missing required parameter: device_provides");
        return NextAsync(Text(provides.GetValueOrDefault("artifact_name")), Text(provides.GetValueOrDefault("device_type")), caller, poll, ct);
    }

    private static async Task<IResult> NextAsync(string? artifactName, string? deviceType, DeviceCaller caller, DevicePoll poll, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(!string.IsNullOrEmpty(artifactName), "artifact_name", "missing required parameter: artifact_name");
        errors.Require(!string.IsNullOrEmpty(deviceType), "device_type", "missing required parameter: device_type");
        errors.ThrowIfAny();
        var answer = await poll.NextAsync(caller.Principal.Device, new PollRequest(artifactName, null, deviceType, Provides: true), ct);
        return answer.Offer is null ? Results.NoContent() : Results.Ok(MenderDeploymentInstructions.From(answer.Offer));
    }

    private static async Task<NoContent> StatusAsync(string id, DeviceStatusRequest request, DeviceCaller caller, DeviceDeploymentReports reports, CancellationToken ct)
    {
        await reports.ReportStatusAsync(caller.Principal.Device, id, request, ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> LogAsync(string id, DeviceLogRequest request, DeviceCaller caller, DeviceDeploymentReports reports, CancellationToken ct)
    {
        await reports.WriteLogAsync(caller.Principal.Device, id, request, ct);
        return TypedResults.NoContent();
    }

    private static Task<IResult> PatchInventoryAsync(List<MenderAttribute> attributes, DeviceCaller device, DeviceInventory inventory, CancellationToken ct) =>
        InventoryAsync(attributes, replace: false, device, inventory, ct);

    private static Task<IResult> ReplaceInventoryAsync(List<MenderAttribute> attributes, DeviceCaller device, DeviceInventory inventory, CancellationToken ct) =>
        InventoryAsync(attributes, replace: true, device, inventory, ct);

    /// <summary>Mender answers 200 to inventory writes; the values follow the native rules, which are Mender's (no mixed arrays).</summary>
    private static async Task<IResult> InventoryAsync(List<MenderAttribute> attributes, bool replace, DeviceCaller device, DeviceInventory inventory, CancellationToken ct)
    {
        await inventory.WriteAsync(device.Principal.Device, attributes.Select(a => new InventoryItem(a?.Name, a?.Value)).ToList(), replace, ct);
        return Results.Ok();
    }

    private static void Unsupported(HttpContext context) =>
        throw new FleetException(ErrorCategory.NotFound, context.Request.Path.Value switch
        {
            { } path when path.Contains("update_control_map", StringComparison.Ordinal) => "Update Control Maps are not offered by this server; deployments run without pauses.",
            { } path when path.Contains("deviceconfig", StringComparison.Ordinal) => "Device configuration is not offered by this server.",
            _ => "Remote terminal, port forwarding and file transfer are not offered by this server.",
        });

    private static string? Text(JsonNode? node) => SignedBodies.Text(node);
}
