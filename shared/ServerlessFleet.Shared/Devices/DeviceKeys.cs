using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Devices;

/// <summary>
/// <c>devices</c> table keys: PartitionKey <c>{tenant}:{serial}</c>, RowKey <c>device</c>. A lookup by serial is a
/// point read, every device's hot writes land in its own partition, and one tenant's devices are a
/// PartitionKey range (tenant ids contain no ':'), ordered by serial.
/// </summary>
public static class DeviceKeys
{
    public const string TableName = "devices";
    public const string DeviceRow = "device";

    public static string Partition(string tenantId, string serial) => $"{tenantId}:{serial}";

    public static string SerialOf(string partitionKey) => partitionKey[(partitionKey.IndexOf(':') + 1)..];

    /// <summary>All partitions of one tenant; ':' + 1 is ';'.</summary>
    public static string TenantRange(string tenantId) =>
        $"PartitionKey gt {TableFilters.Quote(tenantId + ":")} and PartitionKey lt {TableFilters.Quote(tenantId + ";")}";
}
