using System.Diagnostics;
using ServerlessFleet.Shared.DeviceAuth;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// Keeps a steady-state search's polls to reads. A device's first poll in <see cref="DeviceAuthenticator.HeartbeatInterval"/>
/// also writes its last-seen time, and every device of the benchmark wrote its last in one round lasting seconds, so
/// five minutes later all their heartbeats fall due within one step: that step would measure a write for nearly every
/// device, not polls with nothing due. Instead, a step that would reach the heartbeats waits until the last is due and every device
/// polls once first, in a round of its own that is not measured.
/// </summary>
internal sealed class HeartbeatRounds(IReadOnlyList<string> tokens, Func<int, Task> poll)
{
    private const int Pollers = 32;

    // The worker and the benchmark read one machine's clock; a second covers the worker's read of it coming later.
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _started;
    private TimeSpan _ended;

    /// <summary>Every device polls once, as fast as <see cref="Pollers"/> pollers go; each poll writes last-seen.</summary>
    public async Task RunAsync()
    {
        _started = _clock.Elapsed;
        var refused = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, tokens.Count), new ParallelOptions { MaxDegreeOfParallelism = Pollers }, async (i, _) =>
        {
            // A device told 503 (storage busy) comes back a moment later, as Retry-After asks.
            for (var attempt = 0; ; attempt++)
            {
                try { await poll(i); return; }
                catch (InvalidOperationException) when (attempt < 5) { Interlocked.Increment(ref refused); await Task.Delay(1000); }
            }
        });
        _ended = _clock.Elapsed;
        Report.Line($"every device polls once (each writes last-seen), {Pollers} at a time, {_started.TotalSeconds:F0} s in; {refused} refused and repeated",
            tokens.Count, _ended - _started);
    }

    /// <summary>Before a step lasting up to <paramref name="step"/>: the next round, if the step would reach the heartbeats.</summary>
    public async Task BeforeStepAsync(TimeSpan step)
    {
        var interval = DeviceAuthenticator.HeartbeatInterval;
        if (_clock.Elapsed + step + Margin < _started + interval) return;
        // A device polled before its own heartbeat is due writes nothing and stays on the old round's time.
        var lastDue = _ended + interval + Margin;
        if (lastDue > _clock.Elapsed) await Task.Delay(lastDue - _clock.Elapsed);
        await RunAsync();
    }
}
