using System.Diagnostics;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>Runs a program to its end (or kills it, with its children, after a time limit) and keeps what it printed.</summary>
public static class ChildProcess
{
    public static async Task<(int Exit, string Output)> RunAsync(ProcessStartInfo start, TimeSpan limit)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(limit);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        return (process.ExitCode, await output + await errors);
    }
}
