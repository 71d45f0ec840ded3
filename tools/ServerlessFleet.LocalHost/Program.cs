using Microsoft.Azure.Functions.Worker.Grpc.Messages;
using ServerlessFleet.LocalHost;

// Usage: ServerlessFleet.LocalHost --app <worker build or publish folder> [--port 7071] [--settings local.settings.json] [--verbose]
string? Option(string name) => Array.IndexOf(args, name) is >= 0 and var i && i + 1 < args.Length ? args[i + 1] : null;
var app = Option("--app");
if (app is null)
{
    Console.Error.WriteLine("usage: ServerlessFleet.LocalHost --app <folder> [--port 7071] [--settings local.settings.json] [--verbose]");
    return 2;
}
var options = new LocalHostOptions(app, int.TryParse(Option("--port"), out var port) ? port : 7071, Option("--settings"),
    args.Contains("--verbose") ? RpcLog.Types.Level.Debug : RpcLog.Types.Level.Information);
var log = new HostLog(options.LogLevel);
var stopping = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopping.Cancel(); };
// SIGTERM (a process manager, `kill`) stops the host as Ctrl+C does: triggers stop, work in flight is left to the task hub.
using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, signal =>
{
    signal.Cancel = true;
    stopping.Cancel();
});
int exitCode;
try
{
    exitCode = await new FunctionsHost(options, log).RunAsync(stopping.Token);
}
catch (HostStartupException e)
{
    log.Host(e.Message);
    exitCode = 1;
}
// Everything is stopped; threads the Durable Task engine leaves behind must not keep the process alive.
Environment.Exit(exitCode);
return exitCode;
