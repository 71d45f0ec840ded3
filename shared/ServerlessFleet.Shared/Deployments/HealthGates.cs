namespace ServerlessFleet.Shared.Deployments;

/// <summary>
/// A telemetry condition a phase must meet before the rollout goes on: after the phase, the updated devices'
/// <see cref="Metric"/> is watched for <see cref="WindowMinutes"/>. A device violates when the mean of its samples in
/// the window compares to <see cref="Threshold"/> by <see cref="Op"/>; more than <see cref="MaxViolatingPercent"/>
/// violating devices, or (with <see cref="RegressionPercent"/>) an updated mean worse than the not-yet-updated devices'
/// by more than that, stops the rollout by <see cref="Action"/> (pause or abort).
/// </summary>
public sealed record HealthGate(string Metric, string Op, double Threshold, double WindowMinutes, double MaxViolatingPercent, int MinDevices,
    double? RegressionPercent = null, string Action = FailureThreshold.Pause)
{
    public static readonly IReadOnlySet<string> Ops = new HashSet<string> { ">", "<", ">=", "<=" };

    public bool Violates(double value) => Op switch
    {
        ">" => value > Threshold,
        "<" => value < Threshold,
        ">=" => value >= Threshold,
        _ => value <= Threshold,
    };

    /// <summary>Higher is worse when the condition bounds the metric from above (<c>&gt;</c>, <c>&gt;=</c>).</summary>
    public bool HigherIsWorse => Op is ">" or ">=";
}

/// <summary>The release devices go back to when a gate or threshold aborts the deployment.</summary>
public sealed record RollbackTarget(string? ReleaseName, string? ReleaseVersion, string? ArtifactId);

/// <summary>One evaluation of a health gate, with the numbers behind it; shown in the deployment's progress and reason.</summary>
public sealed record HealthCheck(
    int Phase,
    string Metric,
    int Updated,
    int Reporting,
    int Violating,
    double ViolatingPercent,
    double? UpdatedMean,
    double? BaselineMean,
    int BaselineReporting,
    string Verdict,
    string Reason,
    DateTimeOffset At)
{
    public const string Pass = "pass";
    public bool Passed => Verdict == Pass;
}

/// <summary>The health gate's verdict as a pure function of the window's per-device means.</summary>
public static class HealthGateDecisions
{
    public static HealthCheck Evaluate(HealthGate gate, int phase, int updated, IReadOnlyList<double> updatedMeans, IReadOnlyList<double> baselineMeans, DateTimeOffset now)
    {
        var reporting = updatedMeans.Count;
        var violating = updatedMeans.Count(gate.Violates);
        var percent = reporting == 0 ? 0 : violating * 100.0 / reporting;
        double? updatedMean = reporting == 0 ? null : updatedMeans.Average();
        double? baselineMean = baselineMeans.Count == 0 ? null : baselineMeans.Average();
        var numbers = $"{violating} of {reporting} reporting updated devices {gate.Metric} {gate.Op} {gate.Threshold} ({percent:0.#} %)";
        HealthCheck Verdict(string verdict, string reason) =>
            new(phase, gate.Metric, updated, reporting, violating, Math.Round(percent, 2), Round(updatedMean), Round(baselineMean), baselineMeans.Count, verdict, reason, now);

        if (reporting < gate.MinDevices)
            return Verdict(FailureThreshold.Pause,
                $"health gate phases[{phase}]: only {reporting} of {updated} updated devices reported {gate.Metric} in {gate.WindowMinutes:0.#} min; {gate.MinDevices} needed to judge");
        if (percent > gate.MaxViolatingPercent)
            return Verdict(gate.Action, $"health gate phases[{phase}]: {numbers} > {gate.MaxViolatingPercent} % allowed");
        if (gate.RegressionPercent is { } allowed && updatedMean is { } u && baselineMean is { } b && Worse(gate, u, b) is var worse && worse > allowed)
            return Verdict(gate.Action,
                $"health gate phases[{phase}]: updated mean {gate.Metric} {u:0.###} is {worse:0.#} % worse than {baselineMeans.Count} not-yet-updated devices' {b:0.###} (> {allowed} % allowed)");
        var baseline = baselineMean is { } m ? $"; not-yet-updated mean {m:0.###}" : "";
        return Verdict(HealthCheck.Pass, $"health gate phases[{phase}] passed: {numbers}; updated mean {updatedMean:0.###}{baseline}");
    }

    /// <summary>How much worse the updated mean is than the baseline, in percent of the baseline's magnitude (0 when better).</summary>
    public static double Worse(HealthGate gate, double updated, double baseline)
    {
        var delta = gate.HigherIsWorse ? updated - baseline : baseline - updated;
        if (delta <= 0) return 0;
        return baseline == 0 ? double.PositiveInfinity : delta * 100.0 / Math.Abs(baseline);
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 4) : null;
}
