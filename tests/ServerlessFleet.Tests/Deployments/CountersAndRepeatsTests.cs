using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Deployments;

/// <summary>Counters beside records stay exact under concurrent writers, and deployment steps repeated after a crash change nothing twice.</summary>
public sealed class CountersAndRepeatsTests() : DeploymentTestBase("cnt")
{
    [Fact]
    public async Task Concurrent_record_changes_leave_exact_counts()
    {
        var storage = Tenant.Server.Services.GetRequiredService<FleetStorage>();
        var table = storage.Table($"counters{Guid.NewGuid():n}"[..24]);
        await table.CreateAsync();
        var counters = new PartitionCounters(table);
        var scope = "t:op";
        var keys = Enumerable.Range(0, 200).Select(i => $"dev-{i:D3}").ToList();
        await counters.SeedAsync(keys.Select(k => (RecordPartitions.Of(scope, k), "open")), default);
        foreach (var key in keys) await table.AddEntityAsync(new TableEntity(RecordPartitions.Of(scope, key), key) { ["State"] = "open" });

        // Every record is closed twice, by two racing writers: only one of each pair may count.
        await Parallel.ForEachAsync(keys.Concat(keys), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (key, ct) =>
            await OptimisticUpdate.RunAsync(
                async () => (await table.GetEntityAsync<TableEntity>(RecordPartitions.Of(scope, key), key, cancellationToken: ct)).Value,
                row => row.GetString("State") == "closed" ? null : new TableEntity(row.PartitionKey, row.RowKey) { ["State"] = "closed", ETag = row.ETag },
                (_, next) => counters.TryWriteAsync(next, new Dictionary<string, long> { ["open"] = -1, ["closed"] = 1 }, ct), key));

        var counts = await counters.ReadAsync(RecordPartitions.All(scope), default);
        Assert.Equal(0, counts["open"]);
        Assert.Equal(200, counts["closed"]);
        Assert.True(keys.Select(k => RecordPartitions.Of(scope, k)).Distinct().Count() > 10, "records spread over the partitions");
        await table.DeleteAsync();
    }

    [Fact]
    public async Task Releasing_a_batch_again_offers_nothing_twice()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 12, "again", "again");
        await UploadArtifactAsync("fw-again", "1.0", "screen");
        var id = (await CreateAsync(new
        {
            name = "again",
            release = new { name = "fw-again", version = "1.0" },
            target = new { group = "again" },
            phases = new object[] { new { batchSize = 6, startAt = DateTimeOffset.UtcNow.AddHours(1) }, new { } },
        })).GetProperty("id").GetString()!;
        Assert.Equal(DeploymentStatuses.Scheduled, Status(await DeploymentAsync(id)));
        Assert.Null(await PollAsync(devices[0]));

        // The release activity of phase 1, as if it ran, crashed, and ran again.
        var service = Tenant.Server.Services.GetRequiredService<DeploymentService>();
        Assert.Equal(6, await service.AssignBatchAsync(Tenant.TenantId, id, 0, 0, default));
        Assert.Equal(0, await service.AssignBatchAsync(Tenant.TenantId, id, 0, 0, default));
        var records = await RecordsAsync(id);
        Assert.Equal(6, records.Count(r => r.OfferedAt is not null));
        Assert.All(records.Where(r => r.OfferedAt is not null), r => Assert.Equal((0, 1), (r.Phase, r.Attempts)));
        foreach (var device in devices.Take(6)) Assert.Equal(id, await PollAsync(device));
        Assert.Equal(12, Count(await DeploymentAsync(id), "pending"));

        (await Owner.PostAsync($"/api/v1/deployments/{id}:abort", null)).EnsureSuccessStatusCode();
        var aborted = await WaitForStatusAsync(id, DeploymentStatuses.Aborted);
        Assert.Equal(12, Count(aborted, "aborted"));
        Assert.Equal(0, Count(aborted, "pending"));
        foreach (var device in devices.Take(6)) Assert.Null(await PollAsync(device));
    }
}
