using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Artifacts;

public sealed record SignedUrl(Uri Uri, DateTimeOffset ExpiresAt);

/// <summary>
/// Artifact blobs: container <c>artifacts</c>, blob <c>{tenant}/{id}</c>. Every link is a SAS for exactly one
/// blob, so a link to one tenant's artifact can never reach another's. Start times are backdated for devices
/// with skewed clocks; links are HTTPS-only whenever the account is served over HTTPS. With an account key
/// (connection string, Azurite) links are signed with it; under a managed identity they are user-delegation
/// SAS, signed with a delegation key the app obtains with its identity and renews before it runs out.
/// </summary>
public sealed class ArtifactBlobs(FleetStorage storage, TimeProvider clock)
{
    private static readonly TimeSpan DelegationKeyLifetime = TimeSpan.FromDays(6);
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private UserDelegationKey? _delegationKey;

    public const string Container = "artifacts";
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private const int BlockBytes = 4 * 1024 * 1024;

    public static string BlobName(string tenantId, string id) => $"{tenantId}/{id}";

    private BlockBlobClient Blob(string tenantId, string id) => storage.Container(Container).GetBlockBlobClient(BlobName(tenantId, id));

    /// <summary>Streams <paramref name="content"/> into the blob in 4 MB blocks; memory use does not depend on the file size.</summary>
    public async Task UploadAsync(string tenantId, string id, Stream content, string contentType, CancellationToken ct)
    {
        await Blob(tenantId, id).UploadAsync(content, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType },
            TransferOptions = new Azure.Storage.StorageTransferOptions { InitialTransferSize = BlockBytes, MaximumTransferSize = BlockBytes, MaximumConcurrency = 1 },
        }, ct);
    }

    /// <summary>Size, or null when nothing was uploaded.</summary>
    public async Task<BlobProperties?> PropertiesAsync(string tenantId, string id, CancellationToken ct)
    {
        try { return (await Blob(tenantId, id).GetPropertiesAsync(cancellationToken: ct)).Value; }
        catch (RequestFailedException e) when (e.Status == 404) { return null; }
    }

    /// <summary>Reads the stored blob back through the hasher: the server's own sha256 and size, whatever the uploader claimed.</summary>
    public async Task<(string Sha256, long Size)> HashAsync(string tenantId, string id, long maxBytes, CancellationToken ct)
    {
        await using var download = await Blob(tenantId, id).OpenReadAsync(new BlobOpenReadOptions(false) { BufferSize = BlockBytes }, ct);
        await using var hashing = new HashingStream(download, maxBytes);
        await hashing.CopyToAsync(Stream.Null, BlockBytes, ct);
        return (hashing.Sha256Hex(), hashing.BytesRead);
    }

    public Task SetDetailsAsync(string tenantId, string id, string sha256, string contentType, CancellationToken ct) => Task.WhenAll(
        Blob(tenantId, id).SetMetadataAsync(new Dictionary<string, string> { ["sha256"] = sha256 }, cancellationToken: ct),
        Blob(tenantId, id).SetHttpHeadersAsync(new BlobHttpHeaders { ContentType = contentType }, cancellationToken: ct));

    public Task DeleteAsync(string tenantId, string id, CancellationToken ct) =>
        Blob(tenantId, id).DeleteIfExistsAsync(cancellationToken: ct);

    public Task<SignedUrl> ReadUrlAsync(string tenantId, string id, TimeSpan lifetime, CancellationToken ct) =>
        SignAsync(tenantId, id, BlobSasPermissions.Read, lifetime, ct);

    /// <summary>Write-only: the holder can upload the blob (whole, or block by block) but not read or list anything.</summary>
    public Task<SignedUrl> WriteUrlAsync(string tenantId, string id, TimeSpan lifetime, CancellationToken ct) =>
        SignAsync(tenantId, id, BlobSasPermissions.Create | BlobSasPermissions.Write, lifetime, ct);

    private async Task<SignedUrl> SignAsync(string tenantId, string id, BlobSasPermissions permissions, TimeSpan lifetime, CancellationToken ct)
    {
        var blob = Blob(tenantId, id);
        var now = clock.GetUtcNow();
        var expires = now + lifetime;
        var sas = new BlobSasBuilder(permissions, expires)
        {
            BlobContainerName = Container,
            BlobName = BlobName(tenantId, id),
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
