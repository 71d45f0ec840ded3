using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ServerlessFleet.DevStorage;

/// <summary>
/// One Azurite per process: the one named by <c>AzureWebJobsStorage</c> when set, otherwise a private
/// in-memory instance on free loopback ports, started from the repository's pinned npm package and stopped
/// when the process exits.
/// </summary>
public static class Azurite
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

        var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo("node")
        {
            ArgumentList =
            {
                // Large benchmark fleets outgrow node's default heap when everything is held in memory.
                "--max-old-space-size=6144",
                azurite, "--silent", "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
                "--blobHost", "127.0.0.1", "--blobPort", blob.ToString(),
                "--queueHost", "127.0.0.1", "--queuePort", queue.ToString(),
                "--tableHost", "127.0.0.1", "--tablePort", table.ToString(),
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Azurite did not start.");
        lock (Processes)
        {
            if (Processes.Count == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
            Processes.Add(process);
        }
        var errors = new Queue<string>();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (errors)
            {
                errors.Enqueue(e.Data);
                if (errors.Count > 20) errors.Dequeue();
            }
        };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) =>
        {
            if (_stopping) return;
            lock (errors) Console.Error.WriteLine($"Azurite exited unexpectedly with code {process.ExitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        foreach (var port in new[] { blob, queue, table }) WaitForPort(port, process);
        return $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
               $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;" +
               $"QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;" +
               $"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";
    }

    private static void Stop()
    {
        _stopping = true;
        lock (Processes)
        {
            foreach (var process in Processes)
            {
                try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
                catch (InvalidOperationException) { }
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void WaitForPort(int port, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                Thread.Sleep(100);
            }
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
