using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;

namespace ServerlessFleet.Shared.Storage;

public sealed record SignedUrl(Uri Uri, DateTimeOffset ExpiresAt);

/// <summary>
/// SAS links for single blobs. Start times are backdated for devices with skewed clocks; links are HTTPS-only
/// whenever the account is served over HTTPS. With an account key (connection string, Azurite) links are signed
/// with it; under a managed identity they are user-delegation SAS, signed with a delegation key the app obtains
/// with its identity and renews before it runs out. With <c>Fleet:PublicBlobEndpoint</c> set, links name that address
/// instead of the one the app reaches storage at (a device on the LAN cannot fetch <c>127.0.0.1</c>); the signature
/// covers the account, container and blob, not the host, so it stays valid.
/// </summary>
public sealed class BlobLinks(FleetStorage storage, TimeProvider clock, Microsoft.Extensions.Options.IOptions<FleetOptions> options)
{
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DelegationKeyLifetime = TimeSpan.FromDays(6);
    /// <summary>Storage issues a user-delegation key for at most seven days, and a link signed with it cannot outlive it.</summary>
    public static readonly TimeSpan MaxDelegation = TimeSpan.FromDays(7);
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private UserDelegationKey? _delegationKey;

    public async Task<SignedUrl> SignAsync(string container, string blobName, BlobSasPermissions permissions, TimeSpan lifetime, CancellationToken ct)
    {
        var blob = storage.Container(container).GetBlobClient(blobName);
        var now = clock.GetUtcNow();
        var expires = now + lifetime;
        var sas = new BlobSasBuilder(permissions, expires)
        {
            BlobContainerName = container,
            BlobName = blobName,
            Resource = "b",
            StartsOn = now - ClockSkew,
            Protocol = blob.Uri.Scheme == Uri.UriSchemeHttps ? SasProtocol.Https : SasProtocol.HttpsAndHttp,
        };
        if (storage.CanSignWithAccountKey) return new SignedUrl(Public(blob.GenerateSasUri(sas)), expires);
        expires = DelegatedExpiry(now, expires);
        sas.ExpiresOn = expires;
        var key = await DelegationKeyAsync(expires, ct);
        return new SignedUrl(Public(WithUserDelegation(blob.Uri, sas, key, storage.Blobs.AccountName)), expires);
    }

    /// <summary>The link as devices reach it: the public endpoint in place of the service endpoint, path and query kept.</summary>
    private Uri Public(Uri link)
    {
        if (options.Value.PublicBlobEndpoint is not { Length: > 0 } configured) return link;
        var service = storage.Blobs.Uri.AbsoluteUri.TrimEnd('/');
        var relative = link.AbsoluteUri.StartsWith(service, StringComparison.Ordinal) ? link.AbsoluteUri[service.Length..] : link.PathAndQuery;
        return new Uri(configured.TrimEnd('/') + relative);
    }

    /// <summary>A link signed by delegation ends, at the latest, a little before the longest key storage will issue.</summary>
    public static DateTimeOffset DelegatedExpiry(DateTimeOffset now, DateTimeOffset requested) =>
        requested < now + MaxDelegation - ClockSkew ? requested : now + MaxDelegation - ClockSkew;

    /// <summary>The key lives six days (fewer key requests) or as long as the link needs, never past what storage allows.</summary>
    public static DateTimeOffset DelegationKeyExpiry(DateTimeOffset now, DateTimeOffset neededUntil)
    {
        var wanted = neededUntil > now + DelegationKeyLifetime ? neededUntil : now + DelegationKeyLifetime;
        var limit = now + MaxDelegation - TimeSpan.FromMinutes(1);
        return wanted < limit ? wanted : limit;
    }

    /// <summary>A user-delegation SAS link: signed with a key the identity obtained, not with the account key.</summary>
    public static Uri WithUserDelegation(Uri blobUri, BlobSasBuilder sas, UserDelegationKey key, string accountName) =>
        new BlobUriBuilder(blobUri) { Sas = sas.ToSasQueryParameters(key, accountName) }.ToUri();

    private async Task<UserDelegationKey> DelegationKeyAsync(DateTimeOffset neededUntil, CancellationToken ct)
    {
        await _keyLock.WaitAsync(ct);
        try
        {
            if (_delegationKey is null || _delegationKey.SignedExpiresOn < neededUntil)
            {
                var now = clock.GetUtcNow();
                _delegationKey = (await storage.Blobs.GetUserDelegationKeyAsync(now - ClockSkew, DelegationKeyExpiry(now, neededUntil), ct)).Value;
            }
            return _delegationKey;
        }
        finally
        {
            _keyLock.Release();
        }
    }
}
