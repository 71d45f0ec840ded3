namespace ServerlessFleet.LocalHost;

/// <summary>
/// host.json's <c>extensions.http</c> request limits as the Functions host applies them: at most
/// <see cref="MaxConcurrentRequests"/> requests run at once and the rest wait their turn; past
/// <see cref="MaxOutstandingRequests"/> (running and waiting together) a request is refused with 429 at once. -1 (the
/// default) is unbounded. Waiting here is cheap; a burst let through to the worker opens a connection (and a storage
/// connection behind it) for every request at once.
/// </summary>
public sealed class HttpThrottle(int maxConcurrentRequests, int maxOutstandingRequests)
{
    private readonly SemaphoreSlim? _running = maxConcurrentRequests > 0 ? new SemaphoreSlim(maxConcurrentRequests) : null;
    private int _outstanding;

    public int MaxConcurrentRequests => maxConcurrentRequests;
    public int MaxOutstandingRequests => maxOutstandingRequests;

    /// <summary>False when the host already holds as many requests as it may: the caller answers 429.</summary>
    public async ValueTask<bool> EnterAsync(CancellationToken aborted)
    {
        if (Interlocked.Increment(ref _outstanding) > maxOutstandingRequests && maxOutstandingRequests > 0)
        {
            Interlocked.Decrement(ref _outstanding);
            return false;
        }
        try
        {
            if (_running is not null) await _running.WaitAsync(aborted);
            return true;
        }
        catch
        {
            Interlocked.Decrement(ref _outstanding);
            throw;
        }
    }

    /// <summary>After a request that <see cref="EnterAsync"/> let in has been answered.</summary>
    public void Exit()
    {
        _running?.Release();
        Interlocked.Decrement(ref _outstanding);
    }
}
