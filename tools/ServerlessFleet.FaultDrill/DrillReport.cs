namespace ServerlessFleet.FaultDrill;

/// <param name="Fault">What was done to the platform.</param>
/// <param name="OutageSeconds">From the fault to the first healthy answer of the API.</param>
/// <param name="AcknowledgedBefore">Answers the devices had been given when the fault struck: work in flight, not a quiet platform.</param>
public sealed record FaultFigures(string Fault, double OutageSeconds, int AcknowledgedBefore);

/// <param name="Acknowledged">Answers the devices were given, by kind (offers, status reports, deliveries, confirmations).</param>
/// <param name="Recorded">What the platform shows for them: installs recorded, commands in the devices' histories, confirmations, timeline entries.</param>
/// <param name="Lost">Each acknowledged answer the platform does not show.</param>
/// <param name="Duplicates">Each answer or decision the platform shows (or gave) more than once.</param>
public sealed record DrillReport(
    int Devices,
    double Seconds,
    IReadOnlyList<FaultFigures> Faults,
    long RequestsRetried,
    double LongestDeviceOutageSeconds,
    string DeploymentStatus,
    string ActionStatus,
    IReadOnlyDictionary<string, int> Acknowledged,
    IReadOnlyDictionary<string, int> Recorded,
    IReadOnlyList<string> Lost,
    IReadOnlyList<string> Duplicates)
{
    /// <summary>Nothing lost or repeated, and the scenario completed: every device installed and confirmed.</summary>
    public bool Passed => Lost.Count == 0 && Duplicates.Count == 0 && DeploymentStatus == "finished" && ActionStatus == "succeeded"
                          && Recorded.GetValueOrDefault("installs") == Devices && Recorded.GetValueOrDefault("confirmations") == Devices;

    public override string ToString() =>
        $"{Devices} devices, {Seconds:0} s; faults: {string.Join("; ", Faults.Select(f => $"{f.Fault} (outage {f.OutageSeconds:0.0} s, {f.AcknowledgedBefore} answers before)"))}; " +
        $"{RequestsRetried} requests retried, longest device outage {LongestDeviceOutageSeconds:0.0} s; deployment {DeploymentStatus}, action {ActionStatus}; " +
        $"acknowledged {Figures(Acknowledged)}; recorded {Figures(Recorded)}; {Lost.Count} lost, {Duplicates.Count} duplicates" +
        string.Concat(Lost.Take(20).Select(l => $"{Environment.NewLine}  lost: {l}")) + string.Concat(Duplicates.Take(20).Select(d => $"{Environment.NewLine}  duplicate: {d}"));

    private static string Figures(IReadOnlyDictionary<string, int> figures) => string.Join(", ", figures.Select(f => $"{f.Key} {f.Value}"));
}
