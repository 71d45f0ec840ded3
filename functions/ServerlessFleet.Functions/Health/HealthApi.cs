using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Functions.Health;

public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, string> Checks);

public static class HealthApi
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    [Function("Health"), Tags("Operations"), ProducesResponseType<HealthResponse>(200), ProducesResponseType<HealthResponse>(503), AllowAnonymousAccess, HandledBy(nameof(CheckAsync))]
    [EndpointSummary("Storage reachability (200 healthy, 503 unhealthy)")]
    public static Task<IResult> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<IResult> CheckAsync(FleetStorage storage, CancellationToken ct)
    {
        var checks = await Task.WhenAll(
            Probe("tables", () => storage.Table(ApiKeyStore.TableName).QueryAsync<Azure.Data.Tables.TableEntity>(maxPerPage: 1, cancellationToken: ct).AsPages().GetAsyncEnumerator(ct).MoveNextAsync().AsTask()),
            Probe("queues", () => storage.Queues.GetPropertiesAsync(ct)),
            Probe("blobs", () => storage.Blobs.GetPropertiesAsync(ct)));
        var healthy = checks.All(c => c.Value == "ok");
        var body = new HealthResponse(healthy ? "healthy" : "unhealthy", checks.ToDictionary(c => c.Key, c => c.Value));
        return Results.Json(body, statusCode: healthy ? 200 : 503);
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
