using Microsoft.DurableTask;

namespace ServerlessFleet.Functions.Orchestration;

/// <summary>
/// An operation's orchestration is started before the operation is saved, so that no saved deployment or action is
/// ever without its orchestration (a crash between the two leaves at most an orchestration with nothing to run).
/// The orchestration therefore waits for its operation to appear, and ends if it never does.
/// </summary>
public static class OrchestrationStarts
{
    public static readonly TimeSpan SaveGracePeriod = TimeSpan.FromMinutes(15);
    public const string NeverSaved = "never saved";

    /// <summary>Checks <paramref name="saved"/> after growing durable timers; false once the grace period has passed.</summary>
    public static async Task<bool> WaitUntilSavedAsync(TaskOrchestrationContext ctx, Func<Task<bool>> saved)
    {
        var waited = TimeSpan.Zero;
        var delay = TimeSpan.FromSeconds(1);
        while (waited < SaveGracePeriod)
        {
            await ctx.CreateTimer(delay, CancellationToken.None);
            waited += delay;
            if (await saved()) return true;
            delay = delay * 2 > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : delay * 2;
        }
        return false;
    }
}
