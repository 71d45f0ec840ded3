using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.DeviceAuth;

/// <summary>
/// The 401 a device gets while it is pending or rejected says when to ask again (<c>Retry-After</c>): as long as it has
/// already waited, at least 5 s and at most <see cref="FleetOptions.MaxPollBackoffSeconds"/>. A device that follows it
/// retries at doubling intervals, and the platform stores nothing to pace it (the auth set's times say it all).
/// </summary>
public static class AdmissionRetry
{
    public const int MinSeconds = 5;

    public static int Seconds(TimeSpan waiting, FleetOptions options) =>
        (int)Math.Clamp(Math.Ceiling(waiting.TotalSeconds), MinSeconds, Math.Max(MinSeconds, options.MaxPollBackoffSeconds));

    public static FleetException NotAdmitted(AuthResult result, FleetOptions options, string message) =>
        new(ErrorCategory.Authentication, message) { RetryAfterSeconds = Seconds(result.Waiting, options) };
}
