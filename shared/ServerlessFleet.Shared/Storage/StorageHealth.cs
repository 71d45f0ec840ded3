namespace ServerlessFleet.Shared.Storage;

public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, string> Checks)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Healthy => Status == "healthy";
}

/// <summary>
/// Whether each storage service answers: one cheap request to tables, queues and blobs each, side by side, each given
/// <see cref="CheckTimeout"/>. The probe reads no tenant's data: the first page of one table name, and each other
/// service's properties.
/// </summary>
public sealed class StorageHealth(FleetStorage storage)
{
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public async Task<HealthResponse> CheckAsync(CancellationToken ct)
    {
        var checks = await Task.WhenAll(
            Probe("tables", () => storage.Tables.QueryAsync(maxPerPage: 1, cancellationToken: ct).AsPages().GetAsyncEnumerator(ct).MoveNextAsync().AsTask()),
            Probe("queues", () => storage.Queues.GetPropertiesAsync(ct)),
            Probe("blobs", () => storage.Blobs.GetPropertiesAsync(ct)));
        var healthy = checks.All(c => c.Value == "ok");
        return new HealthResponse(healthy ? "healthy" : "unhealthy", checks.ToDictionary(c => c.Key, c => c.Value));
    }

    private static async Task<KeyValuePair<string, string>> Probe(string name, Func<Task> probe)
    {
        try
        {
            await probe().WaitAsync(CheckTimeout);
            return new(name, "ok");
        }
        catch (Exception e)
        {
            return new(name, "unreachable: " + e.GetType().Name);
        }
    }
}
