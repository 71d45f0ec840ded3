using Microsoft.Extensions.Time.Testing;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Tests.Orchestration;

/// <summary>The wait for an operator's command to show, on a clock the test moves: no second of it is real.</summary>
public sealed class OrchestrationCommandsTests
{
    private sealed class RecordingEvents(FakeTimeProvider clock) : IOrchestrationEvents
    {
        public List<(TimeSpan At, string Instance, string Event, string Payload)> Raised { get; } = [];
        private readonly DateTimeOffset _start = clock.GetUtcNow();

        public Task RaiseAsync(string instanceId, string eventName, string payload, CancellationToken ct)
        {
            Raised.Add((clock.GetUtcNow() - _start, instanceId, eventName, payload));
            return Task.CompletedTask;
        }
    }

    /// <summary>A fake clock that says when the code under test starts waiting on it, so the test moves time only then.</summary>
    private sealed class SteppedClock() : FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
        public SemaphoreSlim Waiting { get; } = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Waiting.Release();
            return timer;
        }

        /// <summary>Moves time by <paramref name="step"/> each time the task waits, until it ends.</summary>
        public async Task<T> RunAsync<T>(Task<T> task, TimeSpan step)
        {
            while (!task.IsCompleted)
            {
                var waiting = Waiting.WaitAsync(TimeSpan.FromSeconds(30));
                if (await Task.WhenAny(task, waiting) == task) break;
                Assert.True(await waiting, "The code under test neither finished nor waited on the clock.");
                Advance(step);
            }
            return await task;
        }
    }

    [Fact]
    public async Task A_command_that_does_not_show_is_raised_again_every_5_s_and_answered_as_not_applied_after_20_s()
    {
        var clock = new SteppedClock();
        var events = new RecordingEvents(clock);
        var reads = 0;
        var sending = new OrchestrationCommands(clock, TimeSpan.FromSeconds(20)).SendAsync(events, "t:deployment:1", "pause", _ => Task.FromResult(++reads), _ => false, default);

        var (value, applied) = await clock.RunAsync(sending, TimeSpan.FromMilliseconds(250));

        Assert.False(applied);
        Assert.Equal(81, value); // read every 250 ms from 0 s to 20 s inclusive
        Assert.Equal([0, 5, 10, 15], events.Raised.Select(r => r.At.TotalSeconds));
        Assert.All(events.Raised, r => Assert.Equal(("t:deployment:1", OrchestrationNames.ControlEvent, "pause"), (r.Instance, r.Event, r.Payload)));
    }

    [Fact]
    public async Task A_command_that_shows_is_answered_at_once_with_the_state_that_shows_it()
    {
        var clock = new SteppedClock();
        var events = new RecordingEvents(clock);
        var reads = 0;
        var sending = new OrchestrationCommands(clock, TimeSpan.FromSeconds(20)).SendAsync(events, "t:action:1", "cancel", _ => Task.FromResult(++reads), r => r == 3, default);

        var (value, applied) = await clock.RunAsync(sending, TimeSpan.FromMilliseconds(250));

        Assert.True(applied);
        Assert.Equal(3, value);
        Assert.Single(events.Raised);
    }
}
