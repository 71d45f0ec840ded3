using System.Diagnostics;
using System.Text.Json.Nodes;

namespace ServerlessFleet.LocalHost;

/// <summary>
/// Starts the worker the way the Functions host does: the command from the app's worker.config.json, in the app
/// directory, with the app settings and the variables that tell the worker where the host's gRPC endpoint is.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;

    private WorkerProcess(Process process) => _process = process;

    public int Id => _process.Id;
    public Task<int> Exited { get; private init; } = Task.FromResult(0);

    public static WorkerProcess Start(string appDirectory, Uri hostEndpoint, IReadOnlyDictionary<string, string> settings, HostLog log)
    {
        var config = Path.Combine(appDirectory, "worker.config.json");
        if (!File.Exists(config)) throw new HostStartupException($"{config} does not exist: is {appDirectory} the output of building an isolated worker?");
        var description = JsonNode.Parse(File.ReadAllText(config))?["description"]
            ?? throw new HostStartupException($"{config} has no description.");
        var language = description["language"]?.GetValue<string>();
        if (language != "dotnet-isolated") throw new HostStartupException($"Only dotnet-isolated workers are supported, not '{language}'.");
        var executable = description["defaultExecutablePath"]?.GetValue<string>() ?? "dotnet";
        var workerPath = description["defaultWorkerPath"]?.GetValue<string>() ?? throw new HostStartupException($"{config} names no defaultWorkerPath.");

        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = appDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(appDirectory, workerPath));
        foreach (var (key, value) in settings) start.Environment[key] = value;
        start.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        start.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = appDirectory;
        start.Environment["AzureWebJobsScriptRoot"] = appDirectory;
        start.Environment["FUNCTIONS_WORKER_DIRECTORY"] = appDirectory;
        start.Environment["Functions__Worker__HostEndpoint"] = hostEndpoint.ToString().TrimEnd('/');
        start.Environment["Functions__Worker__WorkerId"] = Guid.NewGuid().ToString();
        start.Environment["Functions__Worker__RequestId"] = Guid.NewGuid().ToString();
        start.Environment["Functions__Worker__GrpcMaxMessageLength"] = int.MaxValue.ToString();

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var exited = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult(process.ExitCode);
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) log.WorkerOutput(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) log.WorkerOutput(e.Data); };
        if (!process.Start()) throw new HostStartupException($"Could not start {executable} {workerPath}.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process) { Exited = exited.Task };
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            // Reaped before the host exits, so nothing of the worker outlives it.
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
