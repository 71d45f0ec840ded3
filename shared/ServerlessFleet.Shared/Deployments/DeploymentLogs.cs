using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Deployments;

public sealed record DeploymentLogMessage(DateTimeOffset Timestamp, string Level, string Message);

/// <summary>A device's log for a deployment, one blob each (<c>{tenant}/{deployment}/{serial}.json</c>); an upload replaces it, as in Mender.</summary>
public sealed class DeploymentLogs(FleetStorage storage)
{
    public const string Container = "deployment-logs";
    public const int MaxBytes = 1024 * 1024;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private Azure.Storage.Blobs.BlobClient Blob(string tenantId, string deploymentId, string serial) =>
        storage.Blobs.GetBlobContainerClient(Container).GetBlobClient($"{tenantId}/{deploymentId}/{serial}.json");

    public async Task WriteAsync(string tenantId, string deploymentId, string serial, IReadOnlyList<DeploymentLogMessage> messages, CancellationToken ct)
    {
        var body = BinaryData.FromObjectAsJson(messages, Json);
        await Blob(tenantId, deploymentId, serial).UploadAsync(body, new Azure.Storage.Blobs.Models.BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
        }, ct);
    }

    public async Task<IReadOnlyList<DeploymentLogMessage>?> ReadAsync(string tenantId, string deploymentId, string serial, CancellationToken ct)
    {
        try
        {
            var content = await Blob(tenantId, deploymentId, serial).DownloadContentAsync(ct);
            return content.Value.Content.ToObjectFromJson<List<DeploymentLogMessage>>(Json);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }
}
