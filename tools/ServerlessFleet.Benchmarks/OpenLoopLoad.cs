using System.Diagnostics;
using ServerlessFleet.Simulator;

namespace ServerlessFleet.Benchmarks;

/// <summary>One rate held for a while: what was asked, what completed, and latency percentiles in milliseconds.</summary>
/// <param name="CommonError">The most frequent failure of the step and how often it occurred, when any failed.</param>
/// <param name="Slow">How the latency over the budget was spread, when any request passed it.</param>
internal sealed record LoadStep(double TargetRate, double AchievedRate, int Requests, int Errors, double P50, double P95, double P99, double Max,
    string? CommonError = null, SlowWindows? Slow = null)
{
    public const double LatencyBudgetMs = 100;

    /// <summary>The slowest of the <see cref="StorageProbe"/>'s raw reads during the step, when one ran beside it.</summary>
    public double? StorageWorstMs { get; init; }

    /// <summary>Held: no errors, p99 within the budget, and (nearly) every scheduled request done in its second.</summary>
    public bool Sustained => Errors == 0 && P99 < LatencyBudgetMs && AchievedRate >= TargetRate * 0.95;

    /// <summary>
    /// Not held because of a stall that storage itself showed: nothing failed, the slow windows were few, and storage
    /// read directly (not through what is measured) passed the budget in the same step.
    /// </summary>
    public bool MissedOnStorageStall => !Sustained && Errors == 0 && Slow is { IsStall: true } && StorageWorstMs > LatencyBudgetMs;

    public override string ToString() =>
        $"{TargetRate,8:F0}/s asked {AchievedRate,8:F1}/s done  p50 {P50,7:F1}  p95 {P95,7:F1}  p99 {P99,7:F1}  max {Max,7:F1} ms  errors {Errors,4}  {(Sustained ? "held" : "not held")}" +
        (CommonError is null ? "" : $"\n      most frequent error: {CommonError}") +
        (Sustained || Slow is null ? "" : $"\n      {Slow}") +
        (Sustained || StorageWorstMs is not { } worst ? "" : $"; storage read directly, worst {worst:F0} ms");
}

/// <summary>
/// The 100 ms windows of scheduled starts whose slowest request passed the latency budget, out of all, and the worst.
/// </summary>
internal sealed record SlowWindows(int Slow, int Total, double WorstAtSeconds, double WorstMs)
{
    /// <summary>A few slow windows: a stall the step recovered from, not a rate beyond what the system serves.</summary>
    public bool IsStall => Slow * 8 <= Total;

    public override string ToString() =>
        $"{Slow} of {Total} 100 ms windows over {LoadStep.LatencyBudgetMs} ms; the worst at {WorstAtSeconds:F1} s ({WorstMs:F0} ms)";
}

/// <summary>
/// Open-loop load: requests start on a fixed schedule whatever the earlier ones are doing, and each latency counts from
/// its scheduled start. A server that falls behind therefore shows as latency, not as a politely slower client
/// (no coordinated omission), which is how a fleet of independent devices behaves.
/// </summary>
internal static partial class OpenLoopLoad
{
    [System.Text.RegularExpressions.GeneratedRegex("[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4,})+")]
    private static partial System.Text.RegularExpressions.Regex Ids();

    /// <param name="request">Called with the request's sequence number; throws on a wrong answer.</param>
    public static async Task<LoadStep> RunAsync(double rate, TimeSpan warmup, TimeSpan measured, Func<int, Task> request)
    {
        var total = (int)(rate * (warmup + measured).TotalSeconds);
        var firstMeasured = (int)(rate * warmup.TotalSeconds);
        var latencies = new double[total];
        var failed = new bool[total];
        var finishedAt = new double[total];
        var errors = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var clock = Stopwatch.StartNew();
        var running = new List<Task>(total);
        var next = 0;
        while (next < total)
        {
            var due = Math.Min(total, (int)(clock.Elapsed.TotalSeconds * rate) + 1);
            for (; next < due; next++) running.Add(TimedAsync(next));
            await Task.Delay(1);
        }
        await Task.WhenAll(running);

        var window = Enumerable.Range(firstMeasured, total - firstMeasured).ToList();
        var sorted = window.Select(i => latencies[i]).Order().ToList();
        var span = window.Max(i => finishedAt[i]) - firstMeasured / rate;
        var common = errors.OrderByDescending(e => e.Value).Select(e => $"{e.Value} × {e.Key}").FirstOrDefault();
        var windows = window.GroupBy(i => (int)(i * 10 / rate)).Select(w => (Start: w.Key / 10.0 - warmup.TotalSeconds, Worst: w.Max(i => latencies[i]))).ToList();
        var slow = windows.Where(w => w.Worst > LoadStep.LatencyBudgetMs).ToList();
        var slowWindows = slow.Count == 0 ? null : new SlowWindows(slow.Count, windows.Count, slow.MaxBy(w => w.Worst).Start, slow.Max(w => w.Worst));
        return new LoadStep(rate, window.Count / span, window.Count, window.Count(i => failed[i]),
            Measurements.Percentile(sorted, 50), Measurements.Percentile(sorted, 95), Measurements.Percentile(sorted, 99), sorted[^1], common, slowWindows);

        async Task TimedAsync(int i)
        {
            var scheduled = i / rate;
            try { await request(i); }
            catch (Exception e)
            {
                failed[i] = true;
                // A failure's kind, not its every detail: the same refusal with different request ids counts as one kind.
                var message = $"{e.GetType().Name}: {e.Message}" + (e.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : "");
                message = Ids().Replace(message, "…");
                errors.AddOrUpdate(message.Length > 200 ? message[..200] : message, 1, (_, n) => n + 1);
            }
            finishedAt[i] = clock.Elapsed.TotalSeconds;
            latencies[i] = (finishedAt[i] - scheduled) * 1000;
        }
    }

    /// <summary>
    /// The highest rate held: up by half from <paramref name="start"/> until a rate is not held (down by halves when the
    /// first is not), then three bisections between the highest rate held and the lowest that was not. Every step is
    /// printed as it ends.
    /// </summary>
    /// <param name="step">One step at the given rate, begun once the last step's backlog has drained.</param>
    /// <param name="tag">Marks this search's steps where another search's are printed between them.</param>
    public static async Task<(LoadStep? Highest, IReadOnlyList<LoadStep> Steps)> FindHighestAsync(string what, double start, Func<double, Task<LoadStep>> step,
        string tag = "")
    {
        var prefix = $"  {tag}{(tag.Length > 0 ? " " : "")}";
        Console.WriteLine($"## {what}: highest rate with p99 < {LoadStep.LatencyBudgetMs} ms");
        var steps = new List<LoadStep>();
        LoadStep? held = null, missed = null;
        for (var rate = start; missed is null && steps.Count < 14; rate *= 1.5)
            Record(await RunSettledAsync(rate));
        // Not even the first rate held: halve until one does.
        for (var rate = start / 2; held is null && rate >= 5; rate /= 2)
            Record(await RunSettledAsync(rate));
        for (var i = 0; i < 3 && held is not null && missed is not null; i++)
            Record(await RunSettledAsync((held.TargetRate + missed.TargetRate) / 2));
        return (held, steps);

        void Record(LoadStep s)
        {
            Console.WriteLine(prefix + s);
            steps.Add(s);
            if (s.Sustained && (held is null || s.TargetRate > held.TargetRate)) held = s;
            if (!s.Sustained && (missed is null || s.TargetRate < missed.TargetRate)) missed = s;
        }

        // A rate is not held once two of its steps count as missed: a step is run once more before it counts, so one
        // pause of a process does not end the search. A miss on a stall that storage itself showed (see
        // LoadStep.MissedOnStorageStall) does not count, since every request waited on it alike, whatever served them;
        // after MaxAttempts steps the rate is not held all the same, as storage stalls too often to hold it.
        async Task<LoadStep> RunSettledAsync(double rate)
        {
            const int MaxAttempts = 4;
            var counted = 0;
            for (var attempt = 1; ; attempt++)
            {
                var s = await step(rate);
                if (s.Sustained) return s;
                if (!s.MissedOnStorageStall) counted++;
                if (counted == 2 || attempt == MaxAttempts) return s;
                Console.WriteLine(prefix + s + (s.MissedOnStorageStall ? " (storage itself stalled: not counted, once more)" : " (once more)"));
            }
        }
    }
}
