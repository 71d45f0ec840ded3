using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace ServerlessFleet.Shared.Auth;

/// <summary>Resolves a presented credential to a principal: the bootstrap key from settings, or a stored key.</summary>
public sealed class ApiKeyAuthenticator(ApiKeyStore keys, IOptions<FleetOptions> options)
{
    public const string BootstrapKeyId = "bootstrap";

    public async Task<FleetPrincipal?> AuthenticateAsync(ApiKeyCredential credential, CancellationToken ct)
    {
        var bootstrap = options.Value.BootstrapKey;
        if (!string.IsNullOrEmpty(bootstrap) && FixedTimeEquals(credential.Raw, bootstrap))
            return new FleetPrincipal(options.Value.DefaultTenant, BootstrapKeyId, Scopes.Expand([Scopes.AccountOwner]), IsBootstrap: true);

        var key = await keys.VerifyAsync(credential, ct);
        return key is null ? null : new FleetPrincipal(key.TenantId, key.KeyId, Scopes.Expand(key.Scopes));
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(a)), SHA256.HashData(Encoding.UTF8.GetBytes(b)));
}
