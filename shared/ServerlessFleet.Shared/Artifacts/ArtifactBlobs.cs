using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Artifacts;

/// <summary>
/// Artifact blobs: container <c>artifacts</c>, blob <c>{tenant}/{id}</c>. Every link is a SAS for exactly one
/// blob (see <see cref="BlobLinks"/>), so a link to one tenant's artifact can never reach another's. Direct uploads
/// land in a staging blob (<c>artifact-uploads/{tenant}/{upload id}</c>), the only blob a write link ever covers;
/// completing the upload copies it to the artifact's blob, so nothing can change an artifact's bytes afterwards.
/// </summary>
public sealed class ArtifactBlobs(FleetStorage storage, BlobLinks links)
{
    public const string Container = "artifacts";
    public const string StagingContainer = "artifact-uploads";
    private const int BlockBytes = 4 * 1024 * 1024;

    public static string BlobName(string tenantId, string id) => $"{tenantId}/{id}";

    private BlockBlobClient Blob(string tenantId, string id) => storage.Container(Container).GetBlockBlobClient(BlobName(tenantId, id));

    private BlockBlobClient Staged(string tenantId, string uploadId) => storage.Container(StagingContainer).GetBlockBlobClient(BlobName(tenantId, uploadId));

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

    /// <summary>The stored blob, read forward in blocks (for reading an artifact's own metadata).</summary>
    public async Task<Stream> OpenReadAsync(string tenantId, string id, CancellationToken ct) =>
        await Blob(tenantId, id).OpenReadAsync(new BlobOpenReadOptions(false) { BufferSize = BlockBytes }, ct);

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

    /// <summary>
    /// Removes what an upload stopped halfway left: a blob never committed has no name to delete, only staged blocks
    /// (up to 100 MB) that storage keeps for a week. Committing an empty block list drops them; then the empty blob goes.
    /// </summary>
    public async Task DiscardAsync(string tenantId, string id, CancellationToken ct)
    {
        var blob = Blob(tenantId, id);
        if ((await blob.DeleteIfExistsAsync(cancellationToken: ct)).Value) return;
        await blob.CommitBlockListAsync([], cancellationToken: ct);
        await blob.DeleteIfExistsAsync(cancellationToken: ct);
    }

    public Task<SignedUrl> ReadUrlAsync(string tenantId, string id, TimeSpan lifetime, CancellationToken ct) =>
        SignAsync(tenantId, id, BlobSasPermissions.Read, lifetime, ct);

    /// <summary>
    /// Write-only link to an upload's staging blob: the holder can upload it (whole, or block by block) but not read or
    /// list anything, and never reaches an artifact's blob.
    /// </summary>
    public Task<SignedUrl> StagingWriteUrlAsync(string tenantId, string uploadId, TimeSpan lifetime, CancellationToken ct) =>
        links.SignAsync(StagingContainer, BlobName(tenantId, uploadId), BlobSasPermissions.Create | BlobSasPermissions.Write, lifetime, ct);

    public async Task<bool> IsStagedAsync(string tenantId, string uploadId, CancellationToken ct) =>
        (await Staged(tenantId, uploadId).ExistsAsync(ct)).Value;

    /// <summary>
    /// Copies the staged upload to the artifact's blob (a server-side copy). What is hashed, recorded and served is that
    /// copy, whatever is written to the staging blob later.
    /// </summary>
    public async Task PromoteAsync(string tenantId, string uploadId, string artifactId, CancellationToken ct)
    {
        var source = await links.SignAsync(StagingContainer, BlobName(tenantId, uploadId), BlobSasPermissions.Read, TimeSpan.FromMinutes(30), ct);
        var copy = await Blob(tenantId, artifactId).StartCopyFromUriAsync(source.Uri, cancellationToken: ct);
        await copy.WaitForCompletionAsync(ct);
    }

    public Task DeleteStagedAsync(string tenantId, string uploadId, CancellationToken ct) =>
        Staged(tenantId, uploadId).DeleteIfExistsAsync(cancellationToken: ct);

    private Task<SignedUrl> SignAsync(string tenantId, string id, BlobSasPermissions permissions, TimeSpan lifetime, CancellationToken ct) =>
        links.SignAsync(Container, BlobName(tenantId, id), permissions, lifetime, ct);
}
