namespace ServerlessFleet.Shared.Deployments;

/// <summary>
/// Mender's per-device deployment statuses and the transitions a device may report. In-progress states only move
/// forward (downloading → pause_before_installing → installing → pause_before_rebooting → rebooting →
/// pause_before_committing); failure may come from any of them, success once downloading started,
/// already-installed before installing. Final states take no further report.
/// </summary>
public static class DeviceDeploymentStatuses
{
    public const string Pending = "pending";
    public const string Downloading = "downloading";
    public const string PauseBeforeInstalling = "pause_before_installing";
    public const string Installing = "installing";
    public const string PauseBeforeRebooting = "pause_before_rebooting";
    public const string Rebooting = "rebooting";
    public const string PauseBeforeCommitting = "pause_before_committing";
    public const string Success = "success";
    public const string Failure = "failure";
    public const string AlreadyInstalled = "already-installed";
    public const string NoArtifact = "noartifact";
    public const string Aborted = "aborted";
    public const string Decommissioned = "decommissioned";

    public static readonly IReadOnlyList<string> All =
    [
        Pending, Downloading, PauseBeforeInstalling, Installing, PauseBeforeRebooting, Rebooting, PauseBeforeCommitting,
        Success, Failure, AlreadyInstalled, NoArtifact, Aborted, Decommissioned,
    ];

    private static readonly IReadOnlyList<string> InProgress =
        [Pending, Downloading, PauseBeforeInstalling, Installing, PauseBeforeRebooting, Rebooting, PauseBeforeCommitting];

    public static readonly IReadOnlySet<string> Reportable = new HashSet<string>
    {
        Downloading, PauseBeforeInstalling, Installing, PauseBeforeRebooting, Rebooting, PauseBeforeCommitting, Success, Failure, AlreadyInstalled,
    };

    public static bool IsFinal(string status) => status is Success or Failure or AlreadyInstalled or NoArtifact or Aborted or Decommissioned;

    /// <summary>Counted as a success by thresholds and statistics.</summary>
    public static bool IsSuccessful(string status) => status is Success or AlreadyInstalled;

    public enum Verdict { Allowed, Repeat, Invalid, Closed }

    /// <summary>
    /// What a report from <paramref name="from"/> to <paramref name="to"/> is. A device repeating its own final report
    /// (it lost the answer) gets the first answer again; anything else after a final status is refused.
    /// </summary>
    public static Verdict Check(string from, string to)
    {
        if (IsFinal(from)) return from == to && Reportable.Contains(to) ? Verdict.Repeat : Verdict.Closed;
        if (from == to) return Verdict.Repeat;
        var rank = InProgress.ToList();
        return to switch
        {
            Failure => Verdict.Allowed,
            AlreadyInstalled => from is Pending or Downloading ? Verdict.Allowed : Verdict.Invalid,
            Success => from != Pending ? Verdict.Allowed : Verdict.Invalid,
            _ => rank.IndexOf(to) > rank.IndexOf(from) ? Verdict.Allowed : Verdict.Invalid,
        };
    }
}
