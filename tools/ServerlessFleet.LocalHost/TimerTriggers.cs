using System.Text.Json;
using Cronos;
using Microsoft.Azure.Functions.Worker.Grpc.Messages;

namespace ServerlessFleet.LocalHost;

/// <summary>
/// Fires a timer-triggered function on its NCRONTAB schedule (six fields with seconds, or five), in UTC, one invocation at
/// a time; <c>runOnStartup</c> fires once at start. An occurrence that comes due while the previous invocation still runs
/// is invoked as soon as it ends, with <c>IsPastDue</c>.
/// </summary>
public sealed class TimerSchedule(LoadedFunction function, CronExpression schedule, bool runOnStartup, TimeSpan functionTimeout,
    IFunctionInvoker channel, HostLog log, TimeProvider clock)
{
    public static TimerSchedule Create(LoadedFunction function, HostSettings host, IFunctionInvoker channel, HostLog log)
    {
        var text = function.Trigger["schedule"]?.GetValue<string>() ?? throw new HostStartupException($"{function.Name} has no schedule.");
        if (text.Contains('%')) throw new HostStartupException($"{function.Name}: schedules from app settings (%…%) are not supported by this host.");
        if (TimeSpan.TryParse(text, out _) && !text.Contains(' ')) throw new HostStartupException($"{function.Name}: TimeSpan schedules are not supported by this host; use NCRONTAB.");
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        CronExpression cron;
        try { cron = CronExpression.Parse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard); }
        catch (CronFormatException e) { throw new HostStartupException($"{function.Name}: invalid schedule '{text}': {e.Message}"); }
        var onStartup = function.Trigger["runOnStartup"]?.GetValue<bool>() ?? false;
        return new TimerSchedule(function, cron, onStartup, host.FunctionTimeout, channel, log, TimeProvider.System);
    }

    public async Task RunAsync(CancellationToken ct)
    {
        DateTimeOffset? last = null;
        if (runOnStartup) last = await FireAsync(clock.GetUtcNow(), last, ct);
        var from = clock.GetUtcNow();
        while (!ct.IsCancellationRequested)
        {
            var due = schedule.GetNextOccurrence(from, TimeZoneInfo.Utc) ?? throw new HostStartupException($"{function.Name}: the schedule never fires again.");
            var wait = due - clock.GetUtcNow();
            if (wait > TimeSpan.Zero) await Task.Delay(wait, clock, ct);
            last = await FireAsync(due, last, ct);
            from = due;
        }
    }

    private async Task<DateTimeOffset> FireAsync(DateTimeOffset due, DateTimeOffset? last, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var next = schedule.GetNextOccurrence(now, TimeZoneInfo.Utc);
        var info = JsonSerializer.Serialize(new
        {
            Schedule = new { AdjustForDST = true },
            ScheduleStatus = new { Last = last ?? DateTimeOffset.MinValue, Next = next, LastUpdated = now },
            IsPastDue = now - due > TimeSpan.FromSeconds(1),
        });
        try
        {
            var response = await channel.InvokeAsync(function, new TypedData { Json = info }, new Dictionary<string, TypedData>(), functionTimeout).WaitAsync(ct);
            if (response.Result.Status != StatusResult.Types.Status.Success) log.Host($"{function.Name} failed: {response.Result.Exception?.Message}");
        }
        catch (Exception e) when (e is TimeoutException or WorkerGoneException)
        {
            log.Host($"{function.Name}: {e.Message}");
        }
        return due;
    }
}
