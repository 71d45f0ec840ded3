namespace ServerlessFleet.LocalHost.Tests;

/// <summary>The host's request limits on their own: who runs, who waits its turn, who is refused.</summary>
public sealed class HttpThrottleTests
{
    [Fact]
    public async Task Past_the_concurrency_a_request_waits_for_a_turn_and_past_the_outstanding_limit_it_is_refused()
    {
        var throttle = new HttpThrottle(maxConcurrentRequests: 1, maxOutstandingRequests: 2);
        Assert.True(await throttle.EnterAsync(CancellationToken.None));

        var waiting = throttle.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.False(await throttle.EnterAsync(CancellationToken.None));

        throttle.Exit();
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        // The refused request took no place: with one running, one more may wait again.
        await OneMoreWaitsForTheRunningOne(throttle);
    }

    [Fact]
    public async Task A_request_whose_caller_leaves_while_it_waits_gives_up_its_place()
    {
        var throttle = new HttpThrottle(maxConcurrentRequests: 1, maxOutstandingRequests: 2);
        Assert.True(await throttle.EnterAsync(CancellationToken.None));
        using var left = new CancellationTokenSource();
        var abandoned = throttle.EnterAsync(left.Token).AsTask();
        await left.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);

        await OneMoreWaitsForTheRunningOne(throttle);
    }

    [Fact]
    public async Task Without_limits_every_request_runs_at_once()
    {
        var throttle = new HttpThrottle(maxConcurrentRequests: -1, maxOutstandingRequests: -1);
        for (var i = 0; i < 1000; i++) Assert.True(await throttle.EnterAsync(CancellationToken.None));
    }

    /// <summary>With one request running: the next is not let in until that one is done, then it is.</summary>
    private static async Task OneMoreWaitsForTheRunningOne(HttpThrottle throttle)
    {
        var next = throttle.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(next.IsCompleted);
        throttle.Exit();
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
