using System.Net;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Shared.Tenants;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Hosting;

/// <summary>The worker's first storage work, when storage is not answering yet.</summary>
public sealed class StorageStartupTests
{
    [Fact]
    public async Task A_worker_whose_storage_is_busy_at_start_waits_for_it_instead_of_crashing()
    {
        // More 503s than one attempt's retries absorb: a worker that gave up after its first attempt would exit.
        const int busyAnswers = 9;
        StorageTap.Fault? busy = null;
        await using var server = await FleetServer.StartAsync(storage: Azurite.StartPrivate(), beforeStart: tap =>
            busy = tap.FailNext((_, address) => address.AbsolutePath.Contains($"/{TenantStore.TableName}", StringComparison.Ordinal), busyAnswers));

        using var bootstrap = server.Client(FleetServer.BootstrapKey);
        var health = await Eventually.WaitAsync(async () =>
        {
            try { return (await bootstrap.GetAsync("/api/v1/tenants/default")).StatusCode; }
            catch (HttpRequestException) { return HttpStatusCode.ServiceUnavailable; }
        }, status => status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the default tenant the start creates");

        Assert.Equal(HttpStatusCode.OK, health);
        Assert.Equal(busyAnswers, busy!.Injected);
        Assert.False(server.Host.Exited.IsCompleted, $"the host exited: {server.Host.RecentOutput}");
        Assert.Contains("Storage does not answer yet (attempt 1", server.Host.RecentOutput);
    }
}
