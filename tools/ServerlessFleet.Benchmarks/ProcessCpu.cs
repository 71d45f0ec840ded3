using System.Diagnostics;

namespace ServerlessFleet.Benchmarks;

/// <summary>
/// CPU time of the processes a run involves (Azurite, the local host, the worker, the load generator), read from
/// /proc, so a step can say which of them used the machine's cores: what limits the rate, measured. Only this
/// process's own descendants count, so another host or Azurite on the machine does not show up in the figures.
/// </summary>
internal sealed class ProcessCpu
{
    private static readonly (string Name, string CommandLinePart)[] Parts =
    [
        ("host", "ServerlessFleet.LocalHost.dll"), ("worker", "ServerlessFleet.Functions.dll"), ("azurite", "azurite.js"),
    ];

    private readonly Dictionary<string, double> _start;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private ProcessCpu() => _start = Seconds();

    public static ProcessCpu Start() => new();

    /// <summary>Cores used by each process since <see cref="Start"/> (1.00 = one core busy all the time).</summary>
    public IReadOnlyDictionary<string, double> CoresUsed()
    {
        var now = Seconds();
        var wall = _clock.Elapsed.TotalSeconds;
        return now.ToDictionary(p => p.Key, p => (p.Value - _start.GetValueOrDefault(p.Key)) / wall);
    }

    public static string Describe(IReadOnlyDictionary<string, double> cores) =>
        string.Join("  ", cores.OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value:F2}"));

    private static Dictionary<string, double> Seconds()
    {
        var seconds = Parts.ToDictionary(p => p.Name, _ => 0.0);
        seconds["load generator"] = StatOf(Environment.ProcessId)?.CpuSeconds ?? 0;
        if (!OperatingSystem.IsLinux()) return seconds;
        var processes = new Dictionary<int, ProcessStat>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var pid) && StatOf(pid) is { } stat) processes[pid] = stat;
        foreach (var (pid, stat) in processes)
        {
            if (pid == Environment.ProcessId || !DescendsFromThisProcess(pid, processes)) continue;
            string commandLine;
            try { commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            foreach (var (name, part) in Parts)
            {
                if (!commandLine.Contains(part, StringComparison.Ordinal)) continue;
                seconds[name] += stat.CpuSeconds;
                break;
            }
        }
        return seconds;
    }

    private static bool DescendsFromThisProcess(int pid, IReadOnlyDictionary<int, ProcessStat> processes)
    {
        for (var hops = 0; hops < 64 && processes.TryGetValue(pid, out var stat) && stat.ParentId > 1; hops++)
        {
            if (stat.ParentId == Environment.ProcessId) return true;
            pid = stat.ParentId;
        }
        return false;
    }

    private sealed record ProcessStat(int ParentId, double CpuSeconds);

    /// <summary>Parent id and utime + stime in seconds (fields 4, 14 and 15 of /proc/{pid}/stat, at 100 ticks per second).</summary>
    private static ProcessStat? StatOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return new ProcessStat(int.Parse(fields[1]), (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
