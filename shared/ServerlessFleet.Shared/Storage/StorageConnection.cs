using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace ServerlessFleet.Shared.Storage;

/// <summary>
/// How the app reaches its storage account, read like the Functions host reads <c>AzureWebJobsStorage</c>:
/// either a connection string (account key; Azurite), or identity-based settings
/// (<c>AzureWebJobsStorage__accountName</c>, or <c>__blobServiceUri</c>/<c>__queueServiceUri</c>/<c>__tableServiceUri</c>)
/// used with <see cref="DefaultAzureCredential"/> — the managed identity in Azure.
/// </summary>
public sealed record StorageConnection(string? ConnectionString, Uri? BlobUri, Uri? QueueUri, Uri? TableUri, TokenCredential? Credential)
{
    public const string Setting = "AzureWebJobsStorage";

    public bool UsesIdentity => ConnectionString is null;

    public static StorageConnection From(IConfiguration configuration, TokenCredential? credential = null)
    {
        var connectionString = configuration[Setting] ?? configuration.GetConnectionString(Setting);
        if (!string.IsNullOrWhiteSpace(connectionString)) return new StorageConnection(connectionString, null, null, null, null);

        var section = configuration.GetSection(Setting);
        var account = section["accountName"];
        Uri? Service(string kind) =>
            section[$"{kind}ServiceUri"] is { Length: > 0 } uri ? new Uri(uri)
            : account is { Length: > 0 } ? new Uri($"https://{account}.{kind}.core.windows.net")
            : null;
        var (blob, queue, table) = (Service("blob"), Service("queue"), Service("table"));
        if (blob is null || queue is null || table is null)
            throw new InvalidOperationException(
                $"Storage is not configured: set '{Setting}' to a connection string, or '{Setting}__accountName' (or the three '{Setting}__<blob|queue|table>ServiceUri' settings) for a managed identity.");
        return new StorageConnection(null, blob, queue, table, credential ?? new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = section["clientId"],
        }));
    }
}
