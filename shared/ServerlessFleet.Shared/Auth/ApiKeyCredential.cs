using System.Text;

namespace ServerlessFleet.Shared.Auth;

/// <summary>
/// A presented API key, split into the key id (used for a point read) and the secret (compared by hash).
/// The full key is <c>{keyId}.{secret}</c>; signageOS-style headers send <c>{keyId}:{secret}</c>. A value
/// without a key id can still be the bootstrap key, which is compared as a whole.
/// </summary>
public sealed record ApiKeyCredential(string? KeyId, string Secret, string Raw)
{
    public static ApiKeyCredential? FromAuthorization(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) return null;
        var space = header.IndexOf(' ');
        if (space <= 0) return null;
        var scheme = header[..space];
        var value = header[(space + 1)..].Trim();
        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)) return Parse(value);
        if (!scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)) return null;
        // Mason sends the raw key after "basic"; standard clients send base64("user:password") with the key in either part.
        return value.Contains('.') ? Parse(value) : FromBasicUserInfo(value) ?? Parse(value);
    }

    public static ApiKeyCredential? FromXAuth(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) return null;
        var colon = header.IndexOf(':');
        return colon <= 0 ? null : Create(header[..colon], header[(colon + 1)..], header);
    }

    public static ApiKeyCredential? Parse(string value)
    {
        if (value.Length is 0 or > 512) return null;
        var dot = value.IndexOf('.');
        return dot <= 0 ? new ApiKeyCredential(null, value, value) : Create(value[..dot], value[(dot + 1)..], value);
    }

    private static ApiKeyCredential? FromBasicUserInfo(string value)
    {
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value));
            var colon = decoded.IndexOf(':');
            if (colon < 0) return null;
            var user = decoded[..colon];
            var password = decoded[(colon + 1)..];
            if (user.Contains('.')) return Parse(user);
            if (password.Contains('.')) return Parse(password);
            return Create(user, password, decoded);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static ApiKeyCredential? Create(string keyId, string secret, string raw) =>
        keyId.Length is > 0 and <= 64 && secret.Length is > 0 and <= 256 ? new ApiKeyCredential(keyId, secret, raw) : null;
}
