using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ServerlessFleet.Functions.Hosting;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>
/// Probe functions mapped into the shared test server that record what reaches them: a queue function that
/// fails on demand, a timer, and an HTTP route that throws.
/// </summary>
public static class ProbeServer
{
    public const string QueueName = "test-probe";
    public const string TimerSchedule = "*/1 * * * * *";
    public static Task<FleetServer> Shared => FleetServer.Shared;

    /// <summary>Every queue invocation received, by message text.</summary>
    public static ConcurrentDictionary<string, ConcurrentQueue<QueueInvocation>> QueueCalls { get; } = new();
    /// <summary>The raw JSON bodies posted to the probe queue function, as the dispatcher sent them.</summary>
    public static ConcurrentQueue<JsonObject> RawQueuePayloads { get; } = new();
    public static ConcurrentQueue<(DateTimeOffset At, TimerInvocation Invocation)> TimerCalls { get; } = new();

    public static void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.Path == "/ProbeQueue")
            {
                context.Request.EnableBuffering();
                var node = await JsonNode.ParseAsync(context.Request.Body);
                if (node is JsonObject o) RawQueuePayloads.Enqueue(o);
                context.Request.Body.Position = 0;
            }
            await next(context);
        });
        app.MapGet("/api/test/boom", (Func<string>)(() => throw new InvalidOperationException("internal detail that must not leak")))
            .WithName("ProbeBoom").AllowAnonymousAccess();
        app.MapQueueFunction("ProbeQueue", QueueName, (invocation, _, _) =>
        {
            QueueCalls.GetOrAdd(invocation.MessageText, _ => new()).Enqueue(invocation);
            // "fail-N:…" fails its first N deliveries; "always-fail:…" never succeeds.
            var parts = invocation.MessageText.Split(':');
            if (parts[0] == "always-fail") throw new InvalidOperationException("probe failure");
            if (parts[0].StartsWith("fail-") && invocation.DequeueCount <= int.Parse(parts[0]["fail-".Length..]))
                throw new InvalidOperationException("probe failure");
            return Task.CompletedTask;
        });
        app.MapTimerFunction("ProbeTimer", TimerSchedule, (invocation, _, _) =>
        {
            TimerCalls.Enqueue((DateTimeOffset.UtcNow, invocation));
            return Task.CompletedTask;
        });
    }
}
