using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Tests.Artifacts;

/// <summary>Links name the storage address devices can reach (<c>Fleet:PublicBlobEndpoint</c>) and still work there.</summary>
public sealed class PublicLinkTests
{
    [Fact]
    public async Task A_link_names_the_public_endpoint_and_its_signature_holds_there()
    {
        var blobEndpoint = Azurite.ConnectionString.Split(';').First(p => p.StartsWith("BlobEndpoint=", StringComparison.Ordinal))["BlobEndpoint=".Length..];
        // Another name for the same storage, as a LAN address is for a device.
        var publicEndpoint = blobEndpoint.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        using var services = FleetApp.BuildServices(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["Fleet:BootstrapKey"] = "public-link-bootstrap-key-0123456789",
            ["Fleet:PublicBlobEndpoint"] = publicEndpoint,
        });
        await services.GetRequiredService<FleetStorage>().Container(ArtifactBlobs.Container).CreateIfNotExistsAsync();
        var blobs = services.GetRequiredService<ArtifactBlobs>();
        var id = $"pub{Guid.NewGuid():n}"[..24];
        await blobs.UploadAsync("public-links", id, new MemoryStream("reachable"u8.ToArray()), "text/plain", default);

        var link = await blobs.ReadUrlAsync("public-links", id, TimeSpan.FromMinutes(5), default);
        Assert.StartsWith(publicEndpoint.TrimEnd('/') + "/", link.Uri.ToString());
        using var device = new HttpClient();
        Assert.Equal("reachable", await device.GetStringAsync(link.Uri));
    }
}
