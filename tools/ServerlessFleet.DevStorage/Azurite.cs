using System.Diagnostics;

namespace ServerlessFleet.DevStorage;

/// <summary>
/// One Azurite per process: the one named by <c>AzureWebJobsStorage</c> when set, otherwise a private
/// in-memory instance on free loopback ports, started from the repository's pinned npm package and stopped
/// when the process exits.
/// </summary>
public static partial class Azurite
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly Lazy<string> Instance = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly List<Process> Processes = [];
    private static volatile bool _stopping;

    public static string ConnectionString => Instance.Value;

    private static string Start()
    {
        var configured = Environment.GetEnvironmentVariable("AzureWebJobsStorage");
        return string.IsNullOrWhiteSpace(configured) ? StartPrivate() : configured;
    }

    /// <summary>Another in-memory instance of its own, for work that must not share a storage account with the app.</summary>
    public static string StartPrivate()
    {
        var root = RepositoryRoot.Find();
        var azurite = Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(azurite))
            throw new InvalidOperationException($"Azurite is not installed at {azurite}; run 'npm ci' in {root}.");

        // Port 0: Azurite binds free ports itself and names them. Ports chosen here and bound a moment later can be
        // taken in between by anything else on the machine.
        var start = new ProcessStartInfo("node")
        {
            ArgumentList =
            {
                // Large benchmark fleets outgrow node's default heap when everything is held in memory.
                "--max-old-space-size=6144",
                azurite, "--silent", "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
                "--blobHost", "127.0.0.1", "--blobPort", "0",
                "--queueHost", "127.0.0.1", "--queuePort", "0",
                "--tableHost", "127.0.0.1", "--tablePort", "0",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(ParentWatch.Watched(start)) ?? throw new InvalidOperationException("Azurite did not start.");
        lock (Processes)
        {
            if (Processes.Count == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
            Processes.Add(process);
        }
        var said = new Queue<string>();
        var endpoints = new Dictionary<string, string>();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Line(string? line)
        {
            if (line is null) return;
            lock (said)
            {
                said.Enqueue(line);
                if (said.Count > 20) said.Dequeue();
                if (Listening().Match(line) is { Success: true } m) endpoints[m.Groups[1].Value] = m.Groups[2].Value;
                if (endpoints.Count == 3) listening.TrySetResult();
            }
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) =>
        {
            listening.TrySetException(new InvalidOperationException($"Azurite exited with code {process.ExitCode}."));
            if (_stopping) return;
            lock (said) Console.Error.WriteLine($"Azurite exited unexpectedly with code {process.ExitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, said)}");
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!listening.Task.Wait(TimeSpan.FromSeconds(30)))
            throw new InvalidOperationException($"Azurite did not say where it listens within 30 s:{Environment.NewLine}{string.Join(Environment.NewLine, said)}");
        return $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
               $"BlobEndpoint={endpoints["Blob"]}/devstoreaccount1;" +
               $"QueueEndpoint={endpoints["Queue"]}/devstoreaccount1;" +
               $"TableEndpoint={endpoints["Table"]}/devstoreaccount1;";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)")]
    private static partial System.Text.RegularExpressions.Regex Listening();

    private static void Stop()
    {
        _stopping = true;
        lock (Processes)
        {
            foreach (var process in Processes) ParentWatch.Kill(process);
        }
    }

}

public static class RepositoryRoot
{
    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ServerlessFleet.sln"))) return dir.FullName;
        throw new InvalidOperationException("Cannot find the repository root (ServerlessFleet.sln) above " + AppContext.BaseDirectory);
    }
}
