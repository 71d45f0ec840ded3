using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Shared.DeviceAuth;

/// <summary>A device that proved who it is on this request, with its row as read for the check.</summary>
public sealed record DevicePrincipal(string TenantId, string Serial, string Jti, Device Device);

/// <summary>
/// Checks a device token on every device request: a valid signature and expiry, then one point read of the
/// device row (accepted, not decommissioned, token not revoked). The same read drives the heartbeat: last-seen
/// is written only when the stored value is older than <see cref="HeartbeatInterval"/>, so a device polling
/// every few seconds costs one write per five minutes.
/// </summary>
public sealed class DeviceAuthenticator(DeviceTokens tokens, DeviceStore devices, TimeProvider clock)
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMinutes(5);

    public async Task<DevicePrincipal?> AuthenticateAsync(ReadOnlyMemory<char> bearerToken, CancellationToken ct)
    {
        var claims = await tokens.ValidateAsync(bearerToken);
        if (claims is null) return null;
        var device = await devices.FindAsync(claims.TenantId, claims.Serial, ct);
        if (device is null || device.Status != DeviceStatuses.Accepted) return null;
        if (device.TokensValidAfter is { } floor && claims.IssuedAt < floor) return null;
        if (device.RevokedTokens.Any(t => t.Jti == claims.Jti)) return null;

        var now = clock.GetUtcNow();
        if (device.LastSeen is null || now - device.LastSeen >= HeartbeatInterval)
        {
            await devices.RecordSeenAsync(claims.TenantId, claims.Serial, now, ct);
            device = device with { LastSeen = now };
        }
        return new DevicePrincipal(claims.TenantId, claims.Serial, claims.Jti, device);
    }
}
