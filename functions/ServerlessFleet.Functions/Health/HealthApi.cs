using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Functions.Health;

public static class HealthApi
{
    [Function("Health"), Tags("Operations"), ProducesResponseType<HealthResponse>(200), ProducesResponseType<HealthResponse>(503), AllowAnonymousAccess, HandledBy(nameof(CheckAsync))]
    [EndpointSummary("Storage reachability (200 healthy, 503 unhealthy)")]
    public static Task<IResult> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<IResult> CheckAsync(StorageHealth health, CancellationToken ct)
    {
        var result = await health.CheckAsync(ct);
        return Results.Json(result, statusCode: result.Healthy ? 200 : 503);
    }
}
