using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Tenants;

namespace ServerlessFleet.Shared.DeviceAuth;

/// <summary>
/// A device's authentication request as its transport read it: the exact bytes it signed, the signature, and what the
/// body says. <paramref name="TenantToken"/> null means the default tenant (Mender clients without a tenant token).
/// </summary>
public sealed record SignedAuthRequest(byte[] Body, byte[] Signature, string Serial, JsonObject Identity, DevicePublicKey Key, string? TenantToken);

/// <summary>How a transport words its refusals (Mender clients expect Mender's phrases).</summary>
public sealed record SignInRefusals(string BadSignature, string UnknownTenant, string Pending, string NotAdmitted);

/// <summary>
/// Device authentication for every transport: nothing is stored unless the body is signed by the key it carries and
/// names a real tenant; then admission decides, and a device not (yet) admitted is told when to ask again.
/// </summary>
public sealed class DeviceSignIn(TenantStore tenants, DeviceAdmission admission, IOptions<FleetOptions> options)
{
    public async Task<DeviceToken> SignInAsync(SignedAuthRequest request, SignInRefusals refusals, CancellationToken ct)
    {
        if (!request.Key.Verify(request.Body, request.Signature)) throw FleetException.Unauthenticated(refusals.BadSignature);
        var tenant = request.TenantToken is null
            ? await tenants.FindAsync(options.Value.DefaultTenant, ct)
            : await tenants.FindByTokenAsync(request.TenantToken, ct);
        if (tenant is null) throw FleetException.Unauthenticated(refusals.UnknownTenant);

        var result = await admission.AuthenticateAsync(tenant, request.Serial, request.Identity, request.Key, ct);
        return result.Outcome switch
        {
            AuthOutcome.Accepted => result.Token!,
            AuthOutcome.Pending => throw AdmissionRetry.NotAdmitted(result, options.Value, refusals.Pending),
            _ => throw AdmissionRetry.NotAdmitted(result, options.Value, refusals.NotAdmitted),
        };
    }
}
