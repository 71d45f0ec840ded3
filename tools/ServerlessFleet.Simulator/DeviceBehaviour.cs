namespace ServerlessFleet.Simulator;

public enum InstallOutcome { Success, Failure, Silent }

/// <summary>What a simulated device does with an offered update, and when it polls.</summary>
public static class DeviceBehaviour
{
    /// <summary>The Mender status sequence for an outcome; a silent device starts and then never reports again.</summary>
    public static IReadOnlyList<string> StatusSequence(InstallOutcome outcome) => outcome switch
    {
        InstallOutcome.Success => ["downloading", "installing", "rebooting", "success"],
        InstallOutcome.Failure => ["downloading", "installing", "failure"],
        _ => ["downloading"],
    };

    public static InstallOutcome Choose(Random random, double failurePercent, double silencePercent)
    {
        var roll = random.NextDouble() * 100;
        return roll < failurePercent ? InstallOutcome.Failure : roll < failurePercent + silencePercent ? InstallOutcome.Silent : InstallOutcome.Success;
    }

    /// <summary>
    /// The wait before the next poll: what the server said (<c>X-Poll-After</c>) when it said something, else the configured
    /// interval spread by ± <paramref name="jitterPercent"/> %.
    /// </summary>
    public static TimeSpan NextPoll(TimeSpan configured, double jitterPercent, TimeSpan? serverSaid, Random random)
    {
        if (serverSaid is { } said) return said;
        var spread = configured.TotalSeconds * jitterPercent / 100;
        return TimeSpan.FromSeconds(Math.Max(0, configured.TotalSeconds + (random.NextDouble() * 2 - 1) * spread));
    }
}
