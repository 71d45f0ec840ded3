using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Deployments;

public sealed record PhaseRequest(double? BatchPercent, int? BatchSize, DateTimeOffset? StartAt, double? SoakMinutes);

/// <summary>
/// Splits a target into phases and batches, the same way for a dry run and for the real one: devices in serial order,
/// each phase takes its share (percent of the whole target rounded down, or a count), the last phase takes the rest,
/// and a phase is released in batches of <see cref="BatchSize"/> devices, one activity each.
/// </summary>
public static class DeploymentPlanner
{
    public const int BatchSize = 500;
    public const int MaxPhases = 10;

    public static IReadOnlyList<DeploymentPhase> Phases(IReadOnlyList<PhaseRequest>? requested, int total, ValidationErrors errors)
    {
        requested = requested is { Count: > 0 } ? requested : [new PhaseRequest(null, null, null, null)];
        if (requested.Count > MaxPhases)
        {
            errors.Add("phases", $"At most {MaxPhases} phases.");
            return [];
        }
        var phases = new List<DeploymentPhase>();
        var assigned = 0;
        for (var i = 0; i < requested.Count; i++)
        {
            var p = requested[i];
            var field = $"phases[{i}]";
            if (p.BatchPercent is not null && p.BatchSize is not null) errors.Add(field, "Give batchPercent or batchSize, not both.");
            if (p.BatchPercent is not (null or (> 0 and <= 100))) errors.Add($"{field}.batchPercent", "batchPercent is more than 0 and at most 100.");
            if (p.BatchSize is not (null or > 0)) errors.Add($"{field}.batchSize", "batchSize is at least 1.");
            if (p.SoakMinutes is not (null or (>= 0 and <= 43_200))) errors.Add($"{field}.soakMinutes", "soakMinutes is 0 to 43200.");
            if (i > 0 && p.StartAt is { } start && requested[i - 1].StartAt is { } previous && start < previous)
                errors.Add($"{field}.startAt", "Phases start in order.");
            var last = i == requested.Count - 1;
            var size = p.BatchPercent is { } percent ? (int)Math.Floor(total * percent / 100.0) : p.BatchSize ?? total - assigned;
            if (last) size = total - assigned;
            if (p.BatchPercent is not null && (int)Math.Floor(total * p.BatchPercent.Value / 100.0) == 0)
                errors.Add($"{field}.batchPercent", $"{p.BatchPercent}% of {total} devices rounds down to no device.");
            else if (size <= 0)
                errors.Add(field, last ? "The earlier phases already take every device; the last phase would be empty." : "The phase has no device left.");
            assigned += Math.Max(size, 0);
            phases.Add(new DeploymentPhase(i, Math.Max(size, 0), p.StartAt, p.SoakMinutes ?? 0));
        }
        if (assigned > total) errors.Add("phases", $"The phases ask for {assigned} devices; the target has {total}.");
        return phases;
    }

    /// <summary>One record per device: its phase, batch and artifact (or noartifact when none fits its device type).</summary>
    public static IReadOnlyList<DeviceDeployment> Records(IReadOnlyList<TargetDevice> devices, IReadOnlyList<DeploymentPhase> phases,
        Func<string?, DeploymentArtifact?> artifactFor, DateTimeOffset now)
    {
        var ordered = devices.OrderBy(d => d.Serial, StringComparer.Ordinal).ToList();
        var records = new List<DeviceDeployment>(ordered.Count);
        var index = 0;
        foreach (var phase in phases)
            for (var i = 0; i < phase.Size && index < ordered.Count; i++, index++)
                records.Add(Record(ordered[index].Serial, ordered[index].DeviceType, phase.Index, i / BatchSize, artifactFor, now));
        return records;
    }

    /// <summary>
    /// A device's record: pending with the artifact for its type; noartifact when none fits that type; pending with no
    /// artifact yet when its type is not known (its poll names the type and the artifact is chosen then).
    /// </summary>
    public static DeviceDeployment Record(string serial, string? deviceType, int phase, int batch, Func<string?, DeploymentArtifact?> artifactFor, DateTimeOffset now)
    {
        var artifact = artifactFor(deviceType);
        var incompatible = deviceType is not null && artifact is null;
        return new DeviceDeployment(serial, incompatible ? DeviceDeploymentStatuses.NoArtifact : DeviceDeploymentStatuses.Pending,
            phase, batch, artifact?.Id, deviceType, 0, now, null, null, null, incompatible ? now : null, null, null);
    }

    public static int Batches(DeploymentPhase phase) => Math.Max(1, (phase.Size + BatchSize - 1) / BatchSize);

    /// <summary>The earliest each phase can start: its startAt, but never before the previous phase's start plus its soak.</summary>
    public static IReadOnlyList<DateTimeOffset> EarliestStarts(IReadOnlyList<DeploymentPhase> phases, DateTimeOffset now)
    {
        var starts = new List<DateTimeOffset>();
        foreach (var phase in phases)
        {
            var earliest = starts.Count == 0 ? now : starts[^1] + TimeSpan.FromMinutes(phases[starts.Count - 1].SoakMinutes);
            starts.Add(phase.StartAt is { } at && at > earliest ? at : earliest);
        }
        return starts;
    }
}
