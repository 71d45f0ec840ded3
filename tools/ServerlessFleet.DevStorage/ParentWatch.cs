using System.Diagnostics;

namespace ServerlessFleet.DevStorage;

/// <summary>
/// Starts a helper process (Azurite, the local host) so that it ends with the process that started it, however that
/// one ends: a test run's process is often killed outright at the end, before any exit handler could stop what it
/// started. A small shell stays beside the helper, passes SIGTERM and SIGINT on (each as itself), and stops the helper once its starter
/// is gone; the shell's exit code is the helper's. The shell leads a process group of its own, so
/// <see cref="Kill"/> ends the shell, the helper and the helper's own children at once. With the starter gone, a
/// helper that does not stop within the grace period (a local host that did not finish its shutdown once its storage
/// had gone with the starter) is killed with its group, as <see cref="Kill"/> would have.
/// </summary>
public static class ParentWatch
{
    private const string Script =
        """
        starter=$1; grace=$2; shift 2
        "$@" &
        helper=$!
        trap 'kill -TERM "$helper" 2>/dev/null' TERM
        trap 'kill -INT "$helper" 2>/dev/null' INT
        while kill -0 "$starter" 2>/dev/null && kill -0 "$helper" 2>/dev/null; do sleep 1 & wait $!; done
        if kill -0 "$starter" 2>/dev/null; then wait "$helper"; exit $?; fi
        kill -TERM "$helper" 2>/dev/null
        waited=0
        while kill -0 "$helper" 2>/dev/null && [ "$waited" -lt "$grace" ]; do sleep 1 & wait $!; waited=$((waited + 1)); done
        kill -KILL 0
        """;

    /// <summary>How long a helper has to stop by itself once its starter is gone.</summary>
    private static readonly TimeSpan DefaultGrace = TimeSpan.FromSeconds(30);

    /// <summary><paramref name="start"/> run under the watch of this process.</summary>
    public static ProcessStartInfo Watched(ProcessStartInfo start) => Watched(start, Environment.ProcessId, DefaultGrace);

    /// <summary><paramref name="start"/> run under the watch of the process <paramref name="starter"/>.</summary>
    public static ProcessStartInfo Watched(ProcessStartInfo start, int starter, TimeSpan grace)
    {
        var watched = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = start.RedirectStandardOutput,
            RedirectStandardError = start.RedirectStandardError,
            UseShellExecute = false,
            WorkingDirectory = start.WorkingDirectory,
        };
        foreach (var argument in new[] { "sh", "-c", Script, "sh", starter.ToString(), ((int)grace.TotalSeconds).ToString(), start.FileName }.Concat(start.ArgumentList))
            watched.ArgumentList.Add(argument);
        foreach (var (key, value) in start.Environment) watched.Environment[key] = value;
        return watched;
    }

    /// <summary>
    /// Kills a watched process's whole group: the shell, the helper and whatever the helper started. Also once the shell
    /// has ended: a helper that died on its own (a local host out of file handles) leaves its children in the group,
    /// orphaned but still running, and they would take the cores of whatever runs next.
    /// </summary>
    public static void Kill(Process watched)
    {
        try
        {
            var exited = watched.HasExited;
            if (KillGroup(-watched.Id, SigKill) != 0 && !exited) watched.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
    }

    private const int SigKill = 9;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int KillGroup(int pid, int signal);
}
