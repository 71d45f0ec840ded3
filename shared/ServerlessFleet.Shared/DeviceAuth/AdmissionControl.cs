using System.Text.Json.Nodes;
using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Tenants;

namespace ServerlessFleet.Shared.DeviceAuth;

public sealed record AuthSetResponse(string Id, string Serial, JsonObject Identity, string PublicKey, string KeyType, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static AuthSetResponse From(AuthSet s) => new(s.Id, s.Serial, s.Identity, s.PublicKey, s.KeyType.ToString(), s.Status, s.CreatedAt, s.UpdatedAt);
}

public sealed record AuthSetStatusRequest(string? Status);
public sealed record PreauthorizeRequest(JsonObject? Identity, string? PublicKey);

/// <summary>An operator's admission decisions, for every transport: preauthorize, accept or reject a key, revoke a token; each audited.</summary>
public sealed class AdmissionControl(TenantStore tenants, DeviceAdmission admission, AuditLog audit)
{
    public async Task<AuthSet> PreauthorizeAsync(Actor actor, PreauthorizeRequest request, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        // A Mender identity ({"mac": …}) is preauthorized under the serial its device will be known by.
        var serial = request.Identity is { Count: > 0 } identity ? DeviceIdentities.SerialOf(identity) : null;
        errors.Require(serial is not null, "identity.serial", "identity is required, with a serial of 1-128 of A-Z a-z 0-9 . _ : - (or a Mender identity such as {\"mac\": …}).");
        var key = DevicePublicKey.TryParse(request.PublicKey);
        errors.Require(key is not null, "publicKey", "publicKey must be a PEM public key: RSA (2048+ bits), ECDSA P-256 or Ed25519.");
        errors.ThrowIfAny();
        var set = await admission.PreauthorizeAsync(await tenants.GetAsync(actor.TenantId, ct), serial!, request.Identity!, key!, ct);
        await audit.RecordAsync(actor, "device.preauthorize", "device", serial!, null, new { authSet = set.Id, status = set.Status }, ct);
        return set;
    }

    public async Task<AuthSet> SetStatusAsync(Actor actor, string serial, string authSetId, AuthSetStatusRequest request, CancellationToken ct)
    {
        if (request.Status is not (AuthSetStatuses.Accepted or AuthSetStatuses.Rejected))
            throw FleetException.Validation("status", "status is accepted or rejected.");
        var set = await admission.SetStatusAsync(await tenants.GetAsync(actor.TenantId, ct), serial, authSetId, request.Status, ct);
        await audit.RecordAsync(actor, $"device.auth.{request.Status}", "device", serial, null, new { authSet = authSetId, status = set.Status }, ct);
        return set;
    }

    public async Task RevokeTokenAsync(Actor actor, string jti, CancellationToken ct)
    {
        await admission.RevokeTokenAsync(actor.TenantId, jti, ct);
        await audit.RecordAsync(actor, "device.token.revoke", "deviceToken", jti, null, new { revoked = true }, ct);
    }
}
