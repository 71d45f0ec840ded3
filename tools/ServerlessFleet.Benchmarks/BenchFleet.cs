using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Shared.Devices;

namespace ServerlessFleet.Benchmarks;

/// <summary>Accepted devices written straight to storage (no onboarding traffic), with device tokens issued by the app's own issuer.</summary>
internal static class BenchFleet
{
    public const string Tenant = "default";

    public static async Task<IReadOnlyList<string>> SeedAsync(IServiceProvider services, IReadOnlyList<string> serials, string group)
    {
        var store = services.GetRequiredService<DeviceStore>();
        await Parallel.ForEachAsync(serials, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (serial, ct) =>
        {
            await store.CreateAsync(Tenant, new NewDevice(serial, null, null, "rev-a", "screen", group, []), ct);
            await store.UpdateAsync(Tenant, serial, d => d with { Status = DeviceStatuses.Accepted }, null, ct);
        });
        return serials;
    }

    public static IReadOnlyList<string> Tokens(IServiceProvider services, IReadOnlyList<string> serials)
    {
        var tokens = services.GetRequiredService<DeviceTokens>();
        return serials.Select(s => tokens.Issue(Tenant, s).Token).ToList();
    }

    /// <summary>A poll by a device with nothing due; anything but 204 throws.</summary>
    public static async Task PollNothingDueAsync(HttpClient http, string token, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/device/v1/deployments/next?artifactName=fw&deviceType=screen");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, ct);
        if (response.StatusCode != HttpStatusCode.NoContent) throw new InvalidOperationException($"Poll: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }
}
