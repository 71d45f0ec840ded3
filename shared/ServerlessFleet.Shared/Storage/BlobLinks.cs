using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;

namespace ServerlessFleet.Shared.Storage;

public sealed record SignedUrl(Uri Uri, DateTimeOffset ExpiresAt);

/// <summary>
/// SAS links for single blobs. Start times are backdated for devices with skewed clocks; links are HTTPS-only
/// whenever the account is served over HTTPS. With an account key (connection string, Azurite) links are signed
/// with it; under a managed identity they are user-delegation SAS, signed with a delegation key the app obtains
/// with its identity and renews before it runs out.
/// </summary>
public sealed class BlobLinks(FleetStorage storage, TimeProvider clock)
{
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DelegationKeyLifetime = TimeSpan.FromDays(6);
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
        if (storage.CanSignWithAccountKey) return new SignedUrl(blob.GenerateSasUri(sas), expires);
        var key = await DelegationKeyAsync(expires, ct);
        return new SignedUrl(WithUserDelegation(blob.Uri, sas, key, storage.Blobs.AccountName), expires);
    }

    /// <summary>A user-delegation SAS link: signed with a key the identity obtained, not with the account key.</summary>
    public static Uri WithUserDelegation(Uri blobUri, BlobSasBuilder sas, UserDelegationKey key, string accountName) =>
        new BlobUriBuilder(blobUri) { Sas = sas.ToSasQueryParameters(key, accountName) }.ToUri();

    private async Task<UserDelegationKey> DelegationKeyAsync(DateTimeOffset neededUntil, CancellationToken ct)
    {
        await _keyLock.WaitAsync(ct);
        try
        {
            if (_delegationKey is null || _delegationKey.SignedExpiresOn < neededUntil.AddMinutes(5))
            {
                var now = clock.GetUtcNow();
                var until = neededUntil > now + DelegationKeyLifetime ? neededUntil : now + DelegationKeyLifetime;
                _delegationKey = (await storage.Blobs.GetUserDelegationKeyAsync(now - ClockSkew, until, ct)).Value;
            }
            return _delegationKey;
        }
        finally
        {
            _keyLock.Release();
        }
    }
}
