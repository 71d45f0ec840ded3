using System.Diagnostics;

namespace ServerlessFleet.DevStorage;

/// <summary>
/// The local Functions host (tools/ServerlessFleet.LocalHost) running a worker build, as a process of its own on a free
/// loopback port: started with the app settings given, ready once it prints that it started, stopped with its worker.
/// </summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    private const string ReadyLine = "[host] Host started: ";
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private LocalHostProcess(Process process) => _process = process;

    /// <summary>Where the host serves HTTP, as it said when it had started.</summary>
    public Uri BaseAddress { get; private set; } = null!;
    public Task<int> Exited { get; private set; } = Task.FromResult(0);

    /// <summary>The last lines the host and worker printed, for a failure message.</summary>
    public string RecentOutput
    {
        get { lock (_output) return string.Join(Environment.NewLine, _output); }
    }

    /// <summary>The build output of a project of this repository (same configuration as the caller).</summary>
    public static string BuildOutput(string projectDirectory, string assemblyName)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var folder = Path.Combine(RepositoryRoot.Find(), projectDirectory, "bin", configuration, "net10.0");
        if (!File.Exists(Path.Combine(folder, assemblyName + ".dll")))
            throw new InvalidOperationException($"{assemblyName} is not built at {folder}; build the solution first.");
        return folder;
    }

    /// <summary>The local host's build of the same configuration as the caller.</summary>
    public static string HostBuildOfThisRun() => Path.Combine(BuildOutput("tools/ServerlessFleet.LocalHost", "ServerlessFleet.LocalHost"), "ServerlessFleet.LocalHost.dll");

    /// <param name="settings">App settings in configuration form (<c>Fleet:BootstrapKey</c>); the worker gets them as environment variables.</param>
    /// <param name="port">The port to serve on: a host started again where its clients know it; a free one when 0.</param>
    public static async Task<LocalHostProcess> StartAsync(string appDirectory, IReadOnlyDictionary<string, string?> settings, TimeSpan? startTimeout = null,
        string? hostBuild = null, int port = 0)
    {
        var hostDll = hostBuild ?? HostBuildOfThisRun();
        if (!File.Exists(hostDll)) throw new InvalidOperationException($"The local host is not built at {hostDll}; build the solution first.");
        var start = new ProcessStartInfo("dotnet")
        {
            // Port 0: the host binds a free port itself and names it when it has started. A port chosen here and bound
            // seconds later can be taken in between by anything else on the machine.
            ArgumentList = { hostDll, "--app", appDirectory, "--port", port.ToString() },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__")] = value;
        var process = new Process { StartInfo = ParentWatch.Watched(start), EnableRaisingEvents = true };
        var exited = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult(process.ExitCode);
        var host = new LocalHostProcess(process) { Exited = exited.Task };
        // LOCALHOST_LOG=<file> keeps everything the host and worker print, for looking into a failed run.
        var logFile = Environment.GetEnvironmentVariable("LOCALHOST_LOG") is { Length: > 0 } path ? TextWriter.Synchronized(File.AppendText(path)) : null;
        void Line(string? line)
        {
            if (line is null) return;
            logFile?.WriteLine(line);
            logFile?.Flush();
            lock (host._output)
            {
                host._output.Enqueue(line);
                if (host._output.Count > 2000) host._output.Dequeue();
            }
            if (line.IndexOf(ReadyLine, StringComparison.Ordinal) is >= 0 and var at)
                ready.TrySetResult(new Uri(line[(at + ReadyLine.Length)..].Split(' ')[0]));
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => host.Kill();

        var first = await Task.WhenAny(ready.Task, exited.Task, Task.Delay(startTimeout ?? TimeSpan.FromSeconds(120)));
        if (first != ready.Task)
        {
            host.Kill();
            throw new InvalidOperationException($"The local host did not start ({(first == exited.Task ? $"exit code {exited.Task.Result}" : "timed out")}):{Environment.NewLine}{host.RecentOutput}");
        }
        host.BaseAddress = await ready.Task;
        return host;
    }

    public void Kill() => ParentWatch.Kill(_process);

    /// <summary>Stops the host as a process manager does (SIGTERM), so it can say what it did; killed if it does not exit in time.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        if (_process.HasExited) return;
        using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await signal.WaitForExitAsync();
        if (await Task.WhenAny(Exited, Task.Delay(timeout ?? TimeSpan.FromSeconds(30))) != Exited) Kill();
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Exited.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
        _process.Dispose();
    }
}
