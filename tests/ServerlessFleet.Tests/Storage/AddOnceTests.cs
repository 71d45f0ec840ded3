using Azure;
using Azure.Data.Tables;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Tests.Storage;

/// <summary>Inserts whose answer is lost on the way back: the SDK retries what was done, and the retry must not read as a conflict.</summary>
public sealed class AddOnceTests
{
    [Fact]
    public async Task An_insert_retried_after_its_answer_was_lost_succeeds_once_and_a_second_insert_still_conflicts()
    {
        await using var tap = await StorageTap.StartAsync(StorageTap.Endpoint(Azurite.ConnectionString));
        var storage = new FleetStorage(StorageTap.Tapped(Azurite.ConnectionString, tap.Address));
        var name = $"addonce{Guid.NewGuid():n}"[..24];
        var table = storage.Table(name);
        await table.CreateAsync();
        var lost = tap.LoseAnswers((method, address) => method == "POST" && address.AbsolutePath.EndsWith("/" + name, StringComparison.Ordinal), times: 1);

        // Without the write id, this is what the SDK's retry turns a stored insert into.
        var plain = await Assert.ThrowsAsync<RequestFailedException>(() => table.AddEntityAsync(new TableEntity("p", "plain")));
        Assert.Equal((409, 1), (plain.Status, lost.Injected));

        var again = tap.LoseAnswers((method, address) => method == "POST" && address.AbsolutePath.EndsWith("/" + name, StringComparison.Ordinal), times: 1);
        var etag = await table.AddOnceAsync(new TableEntity("p", "once") { ["Value"] = 1 }, CancellationToken.None);
        Assert.Equal(1, again.Injected);
        var stored = await table.GetEntityAsync<TableEntity>("p", "once");
        Assert.Equal((etag, 1), (stored.Value.ETag, stored.Value.GetInt32("Value")));

        var second = await Assert.ThrowsAsync<RequestFailedException>(() => table.AddOnceAsync(new TableEntity("p", "once") { ["Value"] = 2 }, CancellationToken.None));
        Assert.Equal(409, second.Status);
        await table.DeleteAsync();
    }
}
