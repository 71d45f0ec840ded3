using System.Diagnostics;

namespace ServerlessFleet.DevStorage;

/// <summary>
/// One Azurite per process: the one named by <c>AzureWebJobsStorage</c> when set, otherwise a private
/// in-memory instance on free loopback ports, started from the repository's pinned npm package and stopped
/// when the process exits.
/// </summary>
public static class Azurite
{
    private static readonly Lazy<string> Instance = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly List<AzuriteProcess> Processes = [];

    public static string ConnectionString => Instance.Value;

    private static string Start()
    {
        var configured = Environment.GetEnvironmentVariable("AzureWebJobsStorage");
        return string.IsNullOrWhiteSpace(configured) ? StartPrivate() : configured;
    }

    /// <summary>Another in-memory instance of its own, for work that must not share a storage account with the app.</summary>
    public static string StartPrivate()
    {
        // Port 0: Azurite binds free ports itself and names them. Ports chosen here and bound a moment later can be
        // taken in between by anything else on the machine.
        var process = AzuriteProcess.Start(["--inMemoryPersistence"], AzuritePorts.Any);
        lock (Processes)
        {
            if (Processes.Count == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
            Processes.Add(process);
        }
        return process.ConnectionString;
    }

    private static void Stop()
    {
        lock (Processes)
        {
            foreach (var process in Processes) process.Kill();
        }
    }
}

/// <summary>The loopback ports of Azurite's three services; 0 lets Azurite pick free ones.</summary>
public sealed record AzuritePorts(int Blob, int Queue, int Table)
{
    public static readonly AzuritePorts Any = new(0, 0, 0);
}

/// <summary>
/// Azurite keeping its data in a folder: stopped gracefully (SIGINT, so it writes what it holds) and started again on
/// the same ports and data, as a storage outage that ends. Its table store saves to disk every few seconds, so a
/// killed Azurite can lose writes it had answered; only a graceful stop keeps them all.
/// </summary>
public sealed class AzuriteOnDisk : IAsyncDisposable
{
    private readonly string _location;
    private AzuriteProcess _process;

    private AzuriteOnDisk(string location, AzuriteProcess process)
    {
        _location = location;
        _process = process;
    }

    public string ConnectionString => _process.ConnectionString;

    public static AzuriteOnDisk Start(string location)
    {
        Directory.CreateDirectory(location);
        return new AzuriteOnDisk(location, AzuriteProcess.Start(["--location", location], AzuritePorts.Any));
    }

    public Task StopAsync() => _process.StopGracefullyAsync();

    /// <summary>Starts it again on the ports and data it had.</summary>
    public void StartAgain() => _process = AzuriteProcess.Start(["--location", _location], _process.Ports);

    public async ValueTask DisposeAsync() => await _process.StopGracefullyAsync();
}

/// <summary>One Azurite process from the repository's pinned npm package, under a <see cref="ParentWatch"/>.</summary>
internal sealed partial class AzuriteProcess
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly Process _process;
    private readonly Dictionary<string, string> _endpoints;
    private volatile bool _stopping;

    private AzuriteProcess(Process process, Dictionary<string, string> endpoints)
    {
        _process = process;
        _endpoints = endpoints;
    }

    public string ConnectionString => $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
                                      $"BlobEndpoint={_endpoints["Blob"]}/devstoreaccount1;" +
                                      $"QueueEndpoint={_endpoints["Queue"]}/devstoreaccount1;" +
                                      $"TableEndpoint={_endpoints["Table"]}/devstoreaccount1;";

    public AzuritePorts Ports => new(Port("Blob"), Port("Queue"), Port("Table"));

    private int Port(string service) => new Uri(_endpoints[service]).Port;

    /// <param name="persistence">How it keeps data: <c>--inMemoryPersistence</c>, or <c>--location DIR</c>.</param>
    public static AzuriteProcess Start(IEnumerable<string> persistence, AzuritePorts ports)
    {
        var root = RepositoryRoot.Find();
        var azurite = Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(azurite))
            throw new InvalidOperationException($"Azurite is not installed at {azurite}; run 'npm ci' in {root}.");
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Large benchmark fleets outgrow node's default heap when everything is held in memory.
        foreach (var argument in new[] { "--max-old-space-size=6144", azurite, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose" }
                     .Concat(persistence)
                     .Concat(["--blobHost", "127.0.0.1", "--blobPort", $"{ports.Blob}", "--queueHost", "127.0.0.1", "--queuePort", $"{ports.Queue}",
                         "--tableHost", "127.0.0.1", "--tablePort", $"{ports.Table}"]))
            start.ArgumentList.Add(argument);
        var process = Process.Start(ParentWatch.Watched(start)) ?? throw new InvalidOperationException("Azurite did not start.");
        var endpoints = new Dictionary<string, string>();
        var azuriteProcess = new AzuriteProcess(process, endpoints);
        var said = new Queue<string>();
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
            if (azuriteProcess._stopping) return;
            lock (said) Console.Error.WriteLine($"Azurite exited unexpectedly with code {process.ExitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, said)}");
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!listening.Task.Wait(TimeSpan.FromSeconds(30)))
            throw new InvalidOperationException($"Azurite did not say where it listens within 30 s:{Environment.NewLine}{string.Join(Environment.NewLine, said)}");
        return azuriteProcess;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)")]
    private static partial System.Text.RegularExpressions.Regex Listening();

    public void Kill()
    {
        _stopping = true;
        ParentWatch.Kill(_process);
    }

    /// <summary>SIGINT, on which Azurite closes its stores and exits; killed if it has not within 30 s.</summary>
    public async Task StopGracefullyAsync()
    {
        _stopping = true;
        if (_process.HasExited) return;
        using (var signal = Process.Start("kill", ["-INT", _process.Id.ToString()])) await signal.WaitForExitAsync();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Kill();
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
