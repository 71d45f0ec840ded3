using Microsoft.Extensions.Logging;

namespace ServerlessFleet.LocalHost.Durable;

/// <summary>
/// The engine's own log on the host's console, as the Functions host writes the Durable extension's: warnings and
/// errors (abandoned and poison messages, processing failures), and partition lease changes, which say when a
/// task-hub partition, and every orchestration in it, stopped or started being processed here.
/// </summary>
public sealed class EngineLog(HostLog log) : ILoggerProvider
{
    private static readonly string[] LeaseEvents = ["LeaseAcquisitionSucceeded", "LeaseRenewalFailed", "LeaseStealingSucceeded", "PartitionRemoved", "LeaseRemoved"];

    public ILogger CreateLogger(string categoryName) => new Logger(log);

    public void Dispose() { }

    private sealed class Logger(HostLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel < LogLevel.Warning && !LeaseEvents.Contains(eventId.Name)) return;
            log.Host($"durable {logLevel.ToString().ToLowerInvariant()} {eventId.Name}: {formatter(state, exception)}");
        }
    }
}
