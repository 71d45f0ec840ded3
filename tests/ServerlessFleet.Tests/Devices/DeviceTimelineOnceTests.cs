using Microsoft.Extensions.Time.Testing;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Tests.Devices;

/// <summary>
/// A decision is recorded once however often it is written: an activity run again after a crash, a device repeating a
/// report whose answer it lost, and the storage client retrying a write whose answer was lost all add nothing.
/// </summary>
public sealed class DeviceTimelineOnceTests
{
    [Fact]
    public async Task A_decision_written_again_adds_nothing_and_a_recurring_one_counts_per_occurrence()
    {
        var (timeline, clock, tap, tenant) = await TimelineAsync();
        await using var _ = tap;

        foreach (var (subject, id, decision, reason, occurrence) in new[]
                 {
                     (TimelineDecisions.Action, "a1", TimelineDecisions.Delivered, "reboot delivered", 0),
                     (TimelineDecisions.Action, "a1", TimelineDecisions.Delivered, "reboot delivered again", 0),
                     (TimelineDecisions.Deployment, "x1", TimelineDecisions.Retried, "attempt 2", 2),
                     (TimelineDecisions.Deployment, "x1", TimelineDecisions.Retried, "attempt 3", 3),
                     (TimelineDecisions.Deployment, "x1", TimelineDecisions.Retried, "attempt 3 again", 3),
                 })
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await timeline.AppendAsync(tenant, "d1", subject, id, decision, reason, default, occurrence);
        }

        var entries = (await timeline.ListAsync(tenant, "d1", null, PageRequest.First(100), default)).Items;
        Assert.Equal(["attempt 3", "attempt 2", "reboot delivered"], entries.Select(e => e.Reason));
        Assert.Equal(["x1"], (await timeline.ListAsync(tenant, "d1", "x1", PageRequest.First(100), default)).Items.Select(e => e.SubjectId).Distinct());
    }

    [Fact]
    public async Task A_write_whose_answer_was_lost_is_retried_by_the_client_and_recorded_once()
    {
        var (timeline, _, tap, tenant) = await TimelineAsync();
        await using var __ = tap;
        var lost = tap.LoseAnswers((method, address) => method == "POST" && address.AbsolutePath.EndsWith("/$batch", StringComparison.Ordinal), times: 1);

        await timeline.AppendAsync(tenant, "d1", TimelineDecisions.Deployment, "x1", TimelineDecisions.Installed, "reported success", default);

        Assert.Equal(1, lost.Injected);
        Assert.Single((await timeline.ListAsync(tenant, "d1", null, PageRequest.First(100), default)).Items);
    }

    private static async Task<(DeviceTimeline Timeline, FakeTimeProvider Clock, StorageTap Tap, string Tenant)> TimelineAsync()
    {
        var tap = await StorageTap.StartAsync(StorageTap.Endpoint(Azurite.ConnectionString));
        var storage = new FleetStorage(StorageTap.Tapped(Azurite.ConnectionString, tap.Address));
        await storage.Table(DeviceTimeline.TableName).CreateIfNotExistsAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        return (new DeviceTimeline(storage, clock), clock, tap, $"once-{Guid.NewGuid():n}");
    }
}
