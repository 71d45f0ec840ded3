using Microsoft.DurableTask;

namespace ServerlessFleet.Functions.Orchestration;

/// <summary>
/// The retry policy of every activity of the app's orchestrations: storage hiccups are retried by the engine, and
/// every activity is safe to run again (the engine runs activities at least once anyway).
/// </summary>
public static class ActivityRetry
{
    public static readonly TaskOptions Policy =
        TaskOptions.FromRetryPolicy(new RetryPolicy(5, TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));
}
