using ServerlessFleet.Shared.Paging;
using ServerlessFleet.Shared.Telemetry;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>
/// Reads what a health gate judges: the mean of <see cref="HealthGate.Metric"/> over the window for each device the
/// phase updated, and for up to <see cref="MaxBaselineDevices"/> devices of later phases not updated yet. One range
/// read of each device's own telemetry partition: the cost follows the phase, never the fleet.
/// </summary>
public sealed class DeploymentHealthWatch(DeploymentStore store, TelemetryStore telemetry, TimeProvider clock)
{
    public const int MaxBaselineDevices = 200;
    private const int MaxSamplesPerDevice = 500;

    /// <param name="since">When the watch began: the window runs from then until now.</param>
    public async Task<HealthCheck> CheckAsync(string tenantId, string deploymentId, int phase, int phases, HealthGate gate, DateTimeOffset since, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var updated = await store.RecordsAsync(tenantId, deploymentId, $"Phase eq {phase} and Status eq '{DeviceDeploymentStatuses.Success}'", ct);
        var baseline = phase + 1 < phases
            ? (await store.RecordsAsync(tenantId, deploymentId, $"Phase gt {phase} and Status eq '{DeviceDeploymentStatuses.Pending}'", ct)).Take(MaxBaselineDevices).ToList()
            : [];
        var updatedMeans = await MeansAsync(tenantId, updated.Select(r => r.Serial), gate.Metric, since, now, ct);
        var baselineMeans = await MeansAsync(tenantId, baseline.Select(r => r.Serial), gate.Metric, since, now, ct);
        return HealthGateDecisions.Evaluate(gate, phase, updated.Count, updatedMeans, baselineMeans, now);
    }

    private async Task<IReadOnlyList<double>> MeansAsync(string tenantId, IEnumerable<string> serials, string metric, DateTimeOffset since, DateTimeOffset until,
        CancellationToken ct)
    {
        var means = new System.Collections.Concurrent.ConcurrentBag<double>();
        await Parallel.ForEachAsync(serials, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (serial, token) =>
        {
            var samples = await telemetry.HistoryAsync(tenantId, serial, metric, since, until, PageRequest.First(MaxSamplesPerDevice), token);
            var values = samples.Items.Select(s => s.Value).OfType<double>().ToList();
            if (values.Count > 0) means.Add(values.Average());
        });
        return means.ToList();
    }
}
