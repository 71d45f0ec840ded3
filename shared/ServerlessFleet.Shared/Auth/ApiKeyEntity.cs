using Azure;
using Azure.Data.Tables;

namespace ServerlessFleet.Shared.Auth;

/// <summary>Row of the <c>apikeys</c> table: PartitionKey = key id (auth is one point read), RowKey = "key".</summary>
internal sealed class ApiKeyEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = ApiKeyStore.RowKey;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string TenantId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Scopes { get; set; } = "";
    public string SecretHash { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public string CreatedBy { get; set; } = "";

    public ApiKey ToDomain() => new(PartitionKey, TenantId, Name,
        Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries), CreatedAt, ExpiresAt, RevokedAt, CreatedBy);
}
