using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ServerlessFleet.Shared.DeviceAuth;

/// <summary>The <c>Fleet:DeviceTokens</c> settings.</summary>
public sealed class DeviceTokenOptions
{
    public const string Section = "Fleet:DeviceTokens";

    /// <summary>Signing keys, newest first: the first signs, all verify; rotate by prepending a new key and later dropping the old one.</summary>
    public List<string> SigningKeys { get; set; } = [];

    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(24);
}

public sealed record DeviceToken(string Token, string Jti, DateTimeOffset ExpiresAt);

/// <summary>Claims of a verified device token.</summary>
public sealed record DeviceTokenClaims(string TenantId, string Serial, string Jti, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>Device JWTs (HS256): sub = serial, tenant, jti, iat, exp; the key id names the signing key.</summary>
public sealed class DeviceTokens
{
    private const string Issuer = "serverlessfleet";
    private const string Audience = "serverlessfleet-device";
    private readonly JsonWebTokenHandler _handler = new();
    private readonly List<SymmetricSecurityKey> _keys;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _lifetime;

    public DeviceTokens(IOptions<DeviceTokenOptions> options, TimeProvider clock)
    {
        _clock = clock;
        _lifetime = options.Value.Lifetime;
        _verifiedByText = _verified.GetAlternateLookup<ReadOnlySpan<char>>();
        var secrets = options.Value.SigningKeys.Where(k => !string.IsNullOrWhiteSpace(k)).ToList();
        if (secrets.Count == 0)
            throw new InvalidOperationException("Fleet:DeviceTokens:SigningKeys needs at least one key.");
        _keys = secrets.Select(secret =>
        {
            var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
            return new SymmetricSecurityKey(bytes) { KeyId = Convert.ToHexStringLower(SHA256.HashData(bytes))[..12] };
        }).ToList();
    }

    /// <param name="notBefore">The earliest issue time the token may carry: a token's times are whole seconds, and the
    /// device's revocation floor is the second after it revoked the older ones.</param>
    public DeviceToken Issue(string tenantId, string serial, DateTimeOffset? notBefore = null)
    {
        var now = _clock.GetUtcNow();
        if (notBefore > now) now = notBefore.Value;
        var jti = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var expires = now + _lifetime;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity([new Claim("sub", serial), new Claim("tenant", tenantId), new Claim("jti", jti)]),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(_keys[0], SecurityAlgorithms.HmacSha256),
        });
        return new DeviceToken(token, jti, DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()));
    }

    /// <summary>
    /// Tokens already verified, by their exact text: a device presents the same token on every request for a day, and
    /// its signature and claims cannot change, so only the clock is checked again. Bounded: when full it starts over.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DeviceTokenClaims> _verified = new(StringComparer.Ordinal);

    /// <summary>The same tokens, looked up by characters rather than by a string.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DeviceTokenClaims>.AlternateLookup<ReadOnlySpan<char>> _verifiedByText;

    private const int MaxVerified = 200_000;

    /// <summary>
    /// The claims of a valid token. A token verified before is found by the characters of the request's own header,
    /// so the hot path (every device request) copies no token and allocates no task.
    /// </summary>
    public ValueTask<DeviceTokenClaims?> ValidateAsync(ReadOnlyMemory<char> token)
    {
        if (_verifiedByText.TryGetValue(token.Span, out var known))
        {
            if (known.ExpiresAt > _clock.GetUtcNow()) return ValueTask.FromResult<DeviceTokenClaims?>(known);
            _verifiedByText.TryRemove(token.Span, out _, out _);
            return ValueTask.FromResult<DeviceTokenClaims?>(null);
        }
        return new ValueTask<DeviceTokenClaims?>(VerifyAndRememberAsync(token.ToString()));
    }

    private async Task<DeviceTokenClaims?> VerifyAndRememberAsync(string token)
    {
        var claims = await VerifyAsync(token);
        if (claims is not null)
        {
            if (_verified.Count >= MaxVerified) _verified.Clear();
            _verified[token] = claims;
        }
        return claims;
    }

    private async Task<DeviceTokenClaims?> VerifyAsync(string token)
    {
        if (token.Length > 4096) return null;
        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Audience,
            IssuerSigningKeys = _keys,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) =>
                expires is { } exp && exp > _clock.GetUtcNow().UtcDateTime && (notBefore is null || notBefore <= _clock.GetUtcNow().UtcDateTime.AddSeconds(30)),
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt) return null;
        string? Claim(string type) => jwt.TryGetPayloadValue<string>(type, out var v) ? v : null;
        return Claim("sub") is { } serial && Claim("tenant") is { } tenant && Claim("jti") is { } jti
            ? new DeviceTokenClaims(tenant, serial, jti, new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero), new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero))
            : null;
    }
}
