namespace ServerlessFleet.Benchmarks;

/// <summary>Storage requests by service; a table transaction is one request.</summary>
internal readonly record struct StorageRequests(double Table, double Queue, double Blob)
{
    public double Total => Table + Queue + Blob;
    public static StorageRequests operator +(StorageRequests a, StorageRequests b) => new(a.Table + b.Table, a.Queue + b.Queue, a.Blob + b.Blob);
    public static StorageRequests operator -(StorageRequests a, StorageRequests b) => new(a.Table - b.Table, a.Queue - b.Queue, a.Blob - b.Blob);
    public static StorageRequests operator *(StorageRequests a, double k) => new(a.Table * k, a.Queue * k, a.Blob * k);
    public static StorageRequests operator /(StorageRequests a, double k) => a * (1 / k);
    public StorageRequests AtLeastZero() => new(Math.Max(0, Table), Math.Max(0, Queue), Math.Max(0, Blob));
    public override string ToString() => $"{Total,8:F2} (table {Table:F2}, queue {Queue:F2}, blob {Blob:F2})";

    public static StorageRequests From(IReadOnlyDictionary<string, long> byService) =>
        new(byService.GetValueOrDefault("table"), byService.GetValueOrDefault("queue"), byService.GetValueOrDefault("blob"));
}

/// <summary>What one device operation costs: storage requests and Functions executions.</summary>
internal sealed record OperationCost(string Name, StorageRequests Storage, double Executions)
{
    public OperationCost Times(double k) => new(Name, Storage * k, Executions * k);
}

/// <summary>
/// Pay-as-you-go list prices in USD (East US, LRS), as published on azure.microsoft.com/pricing/details/{storage/tables,
/// storage/queues, storage/blobs, functions, iot-hub} and read in 2025; they change, so the tool prints the ones it used.
/// </summary>
internal sealed record PriceList
{
    public double TablePer10kTransactions { get; init; } = 0.00036;
    public double QueuePer10kOperations { get; init; } = 0.004;
    public double BlobWritePer10k { get; init; } = 0.05;
    public double FlexPerGbSecond { get; init; } = 0.000026;
    public double FlexPerMillionExecutions { get; init; } = 0.40;
    public double FlexFreeGbSeconds { get; init; } = 100_000;
    public double FlexFreeExecutions { get; init; } = 250_000;
    /// <summary>Flex Consumption's default instance memory.</summary>
    public double InstanceMemoryGb { get; init; } = 2;
    public (string Name, double PerUnitMonth, double MessagesPerUnitDay)[] IotHub { get; init; } = [("S1", 25, 400_000), ("S2", 250, 6_000_000)];

    public override string ToString() =>
        $"table ${TablePer10kTransactions}/10k transactions; queue ${QueuePer10kOperations}/10k operations; blob ${BlobWritePer10k}/10k (every blob request priced as a write); " +
        $"Flex Consumption ${FlexPerGbSecond}/GB-s and ${FlexPerMillionExecutions}/million executions after {FlexFreeGbSeconds:N0} GB-s and {FlexFreeExecutions:N0} executions free a month, " +
        $"{InstanceMemoryGb} GB instances; IoT Hub " + string.Join(", ", IotHub.Select(h => $"{h.Name} ${h.PerUnitMonth}/unit-month for {h.MessagesPerUnitDay:N0} messages/day"));
}

/// <summary>A device's day at the product's defaults, and what it changes when a setting moves.</summary>
internal sealed record DeviceDay(string Name, double PollSeconds = 300, double JitterPercent = 20, double HeartbeatSeconds = 300, double AuthsPerDay = 1,
    double TelemetryBatchesPerDay = 24, double InventoryReportsPerDay = 1, bool ReadsInboxEveryPoll = false)
{
    public double Polls => 86_400 / PollSeconds;

    /// <summary>
    /// Share of polls that write last-seen: a poll writes once the stored value is at least <see cref="HeartbeatSeconds"/>
    /// old, and jittered intervals decide how often that is (simulated, seeded).
    /// </summary>
    public double HeartbeatShare()
    {
        var random = new Random(7);
        double sinceWrite = double.MaxValue;
        var writes = 0;
        const int polls = 200_000;
        for (var i = 0; i < polls; i++)
        {
            if (sinceWrite >= HeartbeatSeconds) { writes++; sinceWrite = 0; }
            sinceWrite += PollSeconds * (1 + (random.NextDouble() * 2 - 1) * JitterPercent / 100);
        }
        return (double)writes / polls;
    }
}

/// <param name="CpuSecondsPerRequest">Worker and host CPU per device request, measured under load.</param>
internal sealed record MeasuredCosts(OperationCost Poll, OperationCost InboxRead, OperationCost Heartbeat, OperationCost Auth, OperationCost Telemetry,
    OperationCost Inventory, OperationCost Rollout, OperationCost Action, StorageRequests BackgroundPerSecond, double MeanExecutionSeconds, double CpuSecondsPerRequest)
{
    public (StorageRequests Storage, double Executions) PerDeviceDay(DeviceDay day)
    {
        var parts = new[]
        {
            Poll.Times(day.Polls), InboxRead.Times(day.ReadsInboxEveryPoll ? day.Polls : 0), Heartbeat.Times(day.Polls * day.HeartbeatShare()),
            Auth.Times(day.AuthsPerDay), Telemetry.Times(day.TelemetryBatchesPerDay), Inventory.Times(day.InventoryReportsPerDay),
        };
        return (parts.Aggregate(new StorageRequests(), (sum, p) => sum + p.Storage), parts.Sum(p => p.Executions));
    }
}

/// <summary>Monthly storage transactions, Functions executions and GB-seconds of a fleet, priced, next to IoT Hub units for the same messages.</summary>
internal static class CostModel
{
    public const double DaysPerMonth = 730 / 24.0;
    /// <summary>Assumed cores of a 2 GB Flex Consumption instance, and the share of them the platform lets a busy instance use before it adds one.</summary>
    public const double CoresPerInstance = 1, TargetUtilization = 0.7;

    /// <summary>
    /// Instances executing at any moment (on average) for a steady stream of requests. On demand, an instance bills its
    /// memory while at least one execution runs, with at least 1,000 ms per active period: requests closer than a second
    /// apart keep one instance billing all the time; more instances are needed once requests need more CPU than one
    /// instance has, or more concurrent executions than it takes.
    /// </summary>
    public static double ActiveInstances(double requestsPerSecond, MeasuredCosts costs, int concurrencyPerInstance = 16)
    {
        if (requestsPerSecond <= 0) return 0;
        var busyAlone = Math.Min(1, requestsPerSecond * Math.Max(1, costs.MeanExecutionSeconds));
        var forCpu = requestsPerSecond * costs.CpuSecondsPerRequest / (CoresPerInstance * TargetUtilization);
        var forConcurrency = requestsPerSecond * costs.MeanExecutionSeconds / concurrencyPerInstance;
        return Math.Max(busyAlone, Math.Max(forCpu, forConcurrency));
    }

    public sealed record FleetMonth(int Devices, StorageRequests Storage, double Executions, double GbSeconds, double StorageUsd, double ExecutionsUsd, double GbSecondsUsd,
        double DeviceMessagesPerDay, IReadOnlyList<(string Tier, int Units, double Usd)> IotHub)
    {
        public double TotalUsd => StorageUsd + ExecutionsUsd + GbSecondsUsd;
    }

    /// <param name="rolloutsPerMonth">Rollouts (and, as many, device actions) each device takes part in a month.</param>
    public static FleetMonth Month(MeasuredCosts costs, DeviceDay day, int devices, PriceList prices, double rolloutsPerMonth = 1)
    {
        var (storage, executions) = costs.PerDeviceDay(day);
        var perDevice = storage * DaysPerMonth + (costs.Rollout.Storage + costs.Action.Storage) * rolloutsPerMonth;
        var perDeviceExecutions = executions * DaysPerMonth + (costs.Rollout.Executions + costs.Action.Executions) * rolloutsPerMonth;
        var fleetStorage = perDevice * devices + costs.BackgroundPerSecond * (DaysPerMonth * 86_400);
        var fleetExecutions = perDeviceExecutions * devices;
        var gbSeconds = ActiveInstances(fleetExecutions / (DaysPerMonth * 86_400), costs) * prices.InstanceMemoryGb * DaysPerMonth * 86_400;
        var storageUsd = fleetStorage.Table / 10_000 * prices.TablePer10kTransactions + fleetStorage.Queue / 10_000 * prices.QueuePer10kOperations
                         + fleetStorage.Blob / 10_000 * prices.BlobWritePer10k;
        var executionsUsd = Math.Max(0, fleetExecutions - prices.FlexFreeExecutions) / 1e6 * prices.FlexPerMillionExecutions;
        var gbSecondsUsd = Math.Max(0, gbSeconds - prices.FlexFreeGbSeconds) * prices.FlexPerGbSecond;
        // Each device request would be one IoT Hub message (all are under the 4 KB meter).
        var messagesPerDay = executions * devices;
        var hub = prices.IotHub.Select(h => (h.Name, Units: (int)Math.Ceiling(messagesPerDay / h.MessagesPerUnitDay), 0.0))
            .Select(h => (h.Name, h.Units, h.Units * prices.IotHub.First(p => p.Name == h.Name).PerUnitMonth)).ToList();
        return new FleetMonth(devices, fleetStorage, fleetExecutions, gbSeconds, storageUsd, executionsUsd, gbSecondsUsd, messagesPerDay, hub);
    }
}
