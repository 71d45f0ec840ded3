using ServerlessFleet.FaultDrill;
using Xunit.Abstractions;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>
/// The fault drill, short: a rollout and a bulk action on a platform of their own, through the worker killed, the host
/// killed and started again, and storage stopped and started again on the same data. Every device ends installed and
/// confirmed, was offered the deployment once and given the command once, and every answer it was given is recorded once.
/// </summary>
public sealed class FaultDrillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_rollout_and_a_bulk_action_lose_and_repeat_nothing_through_crashes_and_a_storage_outage()
    {
        var drill = new FaultDrill.FaultDrill(new FaultDrillOptions
        {
            Devices = 12, Phases = 2, Soak = TimeSpan.FromSeconds(5), ActionBatchSize = 3, ActionBatchDelay = TimeSpan.FromSeconds(2),
            PollInterval = TimeSpan.FromSeconds(1), StorageOutage = TimeSpan.FromSeconds(5), Patience = TimeSpan.FromMinutes(3),
            Say = output.WriteLine,
        });

        var report = await drill.RunAsync(CancellationToken.None);

        Assert.True(report.Passed, report.ToString());
        Assert.Equal(["worker killed", "host killed and started again", "storage stopped for 5 s"], report.Faults.Select(f => f.Fault));
        // Each fault struck work in flight, and the devices rode out the outages by retrying.
        Assert.All(report.Faults, f => Assert.True(f.AcknowledgedBefore > 0 && f.OutageSeconds > 0, report.ToString()));
        Assert.True(report.RequestsRetried > 0, report.ToString());
        Assert.Equal(12, report.Acknowledged["confirmations"]);
    }
}
