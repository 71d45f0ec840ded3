using Microsoft.DurableTask;

namespace ServerlessFleet.Functions.Orchestration;

/// <summary>
/// An operation's orchestration is started before the operation is saved, so that no saved deployment or action is
/// ever without its orchestration (a crash between the two leaves at most an orchestration with nothing to run).
/// The orchestration therefore waits for its operation to appear, and ends if it never does. Once the operation is
/// there it goes on in the same generation: continuing as new could drop a suspend that arrived with the last load,
/// since only raised events are carried into the next generation.
/// </summary>
public static class OrchestrationStarts
{
    public static readonly TimeSpan SaveGracePeriod = TimeSpan.FromMinutes(15);
    public const string NeverSaved = "never saved";

    /// <summary>The operation, loaded after growing durable timers; null once the grace period has passed.</summary>
    public static async Task<T?> WaitUntilSavedAsync<T>(TaskOrchestrationContext ctx, Func<Task<T?>> load) where T : class
    {
        var waited = TimeSpan.Zero;
        var delay = TimeSpan.FromSeconds(1);
        while (waited < SaveGracePeriod)
        {
            await ctx.CreateTimer(delay, CancellationToken.None);
            waited += delay;
            if (await load() is { } saved) return saved;
            delay = delay * 2 > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : delay * 2;
        }
        return null;
    }
}
