using System.Diagnostics;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// Raw point reads straight to storage at a low fixed rate while a step runs, beside the load and not through the app:
/// when one of them passes the latency budget, storage itself stalled in that step (Azurite's full garbage
/// collections pause it for 100–200 ms every 10–15 s at these rates), whatever the load was doing.
/// </summary>
internal sealed class StorageProbe
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);
    private readonly Func<Task> _read;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task<double>> _reads = [];
    private readonly Task _running;

    private StorageProbe(Func<Task> read)
    {
        _read = read;
        _running = RunAsync();
    }

    public static StorageProbe Start(Func<Task> read) => new(read);

    /// <summary>The slowest read of the probe, in milliseconds; a failed read counts as infinitely slow.</summary>
    public async Task<double> StopAsync()
    {
        await _stop.CancelAsync();
        await _running;
        var latencies = await Task.WhenAll(_reads);
        _stop.Dispose();
        return latencies.DefaultIfEmpty(0).Max();
    }

    private async Task RunAsync()
    {
        // Open loop, like the load: a read starts on schedule even when the one before has not returned.
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do _reads.Add(TimedAsync());
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException) { }
    }

    private async Task<double> TimedAsync()
    {
        var started = Stopwatch.GetTimestamp();
        try { await _read(); }
        catch (Exception) { return double.PositiveInfinity; }
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }
}
