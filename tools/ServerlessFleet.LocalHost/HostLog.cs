using Microsoft.Azure.Functions.Worker.Grpc.Messages;

namespace ServerlessFleet.LocalHost;

/// <summary>The host's console: its own lines, the worker's logs (over the event stream) and the worker's stdout/stderr.</summary>
public sealed class HostLog(RpcLog.Types.Level minimum)
{
    private readonly object _gate = new();

    public void Host(string message) => Write($"[host] {message}");

    public void Worker(RpcLog log)
    {
        if (log.Level < minimum && log.Exception is null) return;
        var exception = log.Exception is { } e ? $"{Environment.NewLine}  {e.Message}{Environment.NewLine}{e.StackTrace}" : "";
        Write($"[{log.Level.ToString().ToLowerInvariant()}] {log.Category}: {log.Message}{exception}");
    }

    public void WorkerOutput(string line) => Write($"[worker] {line}");

    private void Write(string line)
    {
        lock (_gate) Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
    }
}
