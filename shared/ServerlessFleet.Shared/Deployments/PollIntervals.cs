namespace ServerlessFleet.Shared.Deployments;

/// <summary>
/// How long a device is told to wait before its next poll (<c>X-Poll-After</c>): the configured interval, shorter
/// while a deployment is queued or under way for it, spread by ± the jitter share so restarts do not synchronise a fleet.
/// </summary>
public static class PollIntervals
{
    public static int Next(FleetOptions options, bool deploymentPending, Random random, int invalidReports = 0) =>
        Jittered(Base(options, deploymentPending, invalidReports), options.PollJitterPercent, random);

    /// <summary>The interval before jitter: doubled for each invalid report in a row, up to <see cref="FleetOptions.MaxPollBackoffSeconds"/>.</summary>
    public static int Base(FleetOptions options, bool deploymentPending, int invalidReports)
    {
        var seconds = deploymentPending ? Math.Min(options.DeploymentPollSeconds, options.DevicePollSeconds) : options.DevicePollSeconds;
        if (invalidReports <= 0) return seconds;
        return (int)Math.Min(Math.Max(options.MaxPollBackoffSeconds, seconds), seconds * Math.Pow(2, Math.Min(invalidReports, 20)));
    }

    /// <summary>A whole number of seconds within ± <paramref name="jitterPercent"/> % of <paramref name="seconds"/>, never below 1.</summary>
    public static int Jittered(int seconds, int jitterPercent, Random random)
    {
        var spread = seconds * jitterPercent / 100.0;
        var value = seconds + (random.NextDouble() * 2 - 1) * spread;
        return Math.Max(1, (int)Math.Round(Math.Clamp(value, seconds - spread, seconds + spread)));
    }
}
