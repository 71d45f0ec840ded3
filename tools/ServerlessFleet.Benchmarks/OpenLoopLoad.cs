using System.Diagnostics;
using ServerlessFleet.Simulator;

namespace ServerlessFleet.Benchmarks;

/// <summary>One rate held for a while: what was asked, what completed, and latency percentiles in milliseconds.</summary>
/// <param name="CommonError">The most frequent failure of the step and how often it occurred, when any failed.</param>
/// <param name="SlowWindows">
/// How the latency over the budget was spread: the 100 ms windows of scheduled starts whose slowest request passed it,
/// out of all, and the worst of them. A few windows mean stalls; most of them mean a rate beyond what the system serves.
/// </param>
internal sealed record LoadStep(double TargetRate, double AchievedRate, int Requests, int Errors, double P50, double P95, double P99, double Max,
    string? CommonError = null, string? SlowWindows = null)
{
    public const double LatencyBudgetMs = 100;

    /// <summary>Held: no errors, p99 within the budget, and (nearly) every scheduled request done in its second.</summary>
    public bool Sustained => Errors == 0 && P99 < LatencyBudgetMs && AchievedRate >= TargetRate * 0.95;

    public override string ToString() =>
        $"{TargetRate,8:F0}/s asked {AchievedRate,8:F1}/s done  p50 {P50,7:F1}  p95 {P95,7:F1}  p99 {P99,7:F1}  max {Max,7:F1} ms  errors {Errors,4}  {(Sustained ? "held" : "not held")}" +
        (CommonError is null ? "" : $"\n      most frequent error: {CommonError}") +
        (Sustained || SlowWindows is null ? "" : $"\n      {SlowWindows}");
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
        var slowWindows = slow.Count == 0 ? null
            : $"{slow.Count} of {windows.Count} 100 ms windows over {LoadStep.LatencyBudgetMs} ms; the worst at {slow.MaxBy(w => w.Worst).Start:F1} s ({slow.Max(w => w.Worst):F0} ms)";
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
    /// The highest rate held: up by half from <paramref name="start"/> until a step is not held twice in a row (down by
    /// halves when the first is not), then three bisections between the highest rate held and the lowest that was not. Every step is printed as it ends.
    /// </summary>
    public static async Task<(LoadStep? Highest, IReadOnlyList<LoadStep> Steps)> FindHighestAsync(string what, double start, Func<double, Task<LoadStep>> step)
    {
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
            Console.WriteLine("  " + s);
            steps.Add(s);
            if (s.Sustained && (held is null || s.TargetRate > held.TargetRate)) held = s;
            if (!s.Sustained && (missed is null || s.TargetRate < missed.TargetRate)) missed = s;
        }

        async Task<LoadStep> RunSettledAsync(double rate)
        {
            // A moment between steps so one step's backlog does not count against the next; a step not held is run once
            // more before it counts, so one pause of the emulator or a collection does not end the search.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var first = await step(rate);
            if (first.Sustained) return first;
            Console.WriteLine("  " + first + " (once more)");
            await Task.Delay(TimeSpan.FromSeconds(2));
            return await step(rate);
        }
    }
}
