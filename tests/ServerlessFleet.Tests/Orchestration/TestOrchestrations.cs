using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Orchestration;

public sealed record SampleInput(int Start, int EventTimeoutSeconds);
public sealed record SampleStatus(string Stage);

/// <summary>Orchestrators and activities used by the runtime tests, with ledgers of what actually ran.</summary>
public static class TestOrchestrations
{
    /// <summary>How many times each activity invocation (by idempotency key) executed.</summary>
    public static ConcurrentDictionary<string, int> Executions { get; } = new();
    /// <summary>Effects applied idempotently: one entry per invocation however often it executed.</summary>
    public static ConcurrentDictionary<string, int> Effects { get; } = new();
    public static ConcurrentDictionary<string, int> FlakyAttempts { get; } = new();

    public static TestFaults Faults { get; } = new();

    public static Task<RuntimeHarness> Server => RuntimeHarness.Shared;

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<IRuntimeFaults>(Faults);
        services.Configure<OrchestrationRegistry>(r => r
            .AddOrchestrator<SampleInput, string>("Sample", Sample)
            .AddOrchestrator<int, long>("FanOut", FanOut)
            .AddOrchestrator<int, int>("Counter", Counter)
            .AddOrchestrator<string, string>("WaitForever", async (ctx, _) => await ctx.WaitForExternalEvent<string>("Never"))
            .AddOrchestrator<int, string>("CatchFailure", CatchFailure)
            .AddOrchestrator<int, int>("Flaky", async (ctx, failures) =>
                await ctx.CallActivityAsync<int>("Flaky", failures, new RetryPolicy(4, TimeSpan.FromMilliseconds(10))))
            .AddActivity<int, int>("Increment", (value, context) => Task.FromResult(Record(context, value + 1)))
            .AddActivity<int, long>("Square", (value, context) => Task.FromResult(Record(context, (long)value * value)))
            .AddActivity<int, int>("Fail", (_, _) => throw new InvalidOperationException("activity broke"))
            .AddActivity<int, int>("Flaky", (failures, context) =>
            {
                var attempt = FlakyAttempts.AddOrUpdate(context.IdempotencyKey, 1, (_, n) => n + 1);
                if (attempt <= failures) throw new TimeoutException($"flaky attempt {attempt}");
                return Task.FromResult(Record(context, attempt));
            }));
    }

    private static T Record<T>(ActivityContext context, T result)
    {
        Executions.AddOrUpdate(context.IdempotencyKey, 1, (_, n) => n + 1);
        Effects.TryAdd(context.IdempotencyKey, 1);
        return result;
    }

    /// <summary>Activity, timer, then an event with a timeout either way.</summary>
    public static async Task<string> Sample(IOrchestrationContext ctx, SampleInput input)
    {
        var a = await ctx.CallActivityAsync<int>("Increment", input.Start);
        ctx.SetCustomStatus(new SampleStatus("timer"));
        await ctx.CreateTimer(ctx.CurrentUtcDateTime.AddSeconds(1));
        var b = await ctx.CallActivityAsync<int>("Increment", a);
        ctx.SetCustomStatus(new SampleStatus("waiting"));
        string approval;
        try { approval = await ctx.WaitForExternalEvent<string>("Approve", TimeSpan.FromSeconds(input.EventTimeoutSeconds)); }
        catch (TimeoutException) { approval = "timed-out"; }
        ctx.SetCustomStatus(new SampleStatus("done"));
        return $"{b}:{approval}";
    }

    public static async Task<long> FanOut(IOrchestrationContext ctx, int count)
    {
        var results = await Task.WhenAll(Enumerable.Range(0, count).Select(i => ctx.CallActivityAsync<long>("Square", i)));
        return results.Sum();
    }

    /// <summary>Counts "Add" events in generations of 3 events each, via continue-as-new, until the total reaches 10.</summary>
    public static async Task<int> Counter(IOrchestrationContext ctx, int total)
    {
        for (var i = 0; i < 3; i++)
        {
            total += await ctx.WaitForExternalEvent<int>("Add");
            ctx.SetCustomStatus(total);
            if (total >= 10) return total;
        }
        ctx.ContinueAsNew(total);
        return total;
    }

    public static async Task<string> CatchFailure(IOrchestrationContext ctx, int _)
    {
        try
        {
            await ctx.CallActivityAsync<int>("Fail", 1);
            return "no failure";
        }
        catch (ActivityFailedException e)
        {
            return $"caught {e.ActivityName}: {e.ErrorType}: {e.ErrorMessage}";
        }
    }
}

/// <summary>Makes the runtime fail at chosen points for chosen instances, as a crash there would.</summary>
public sealed class TestFaults : IRuntimeFaults
{
    private readonly ConcurrentDictionary<(FaultPoint, string), int> _armed = new();
    public ConcurrentDictionary<(FaultPoint, string), int> Tripped { get; } = new();

    public void Arm(FaultPoint point, string instanceId, int times = 1) => _armed[(point, instanceId)] = times;

    public void At(FaultPoint point, string instanceId)
    {
        var key = (point, instanceId);
        if (!_armed.TryGetValue(key, out var remaining) || remaining <= 0) return;
        if (!_armed.TryUpdate(key, remaining - 1, remaining)) return;
        Tripped.AddOrUpdate(key, 1, (_, n) => n + 1);
        throw new InvalidOperationException($"Injected crash at {point}");
    }
}
