using System.Net;
using System.Net.Http.Headers;
using ServerlessFleet.Simulator;

namespace ServerlessFleet.Tests.Simulator;

/// <summary>The simulated devices' retries, on a clock the test moves: what a device does while its server is away.</summary>
public sealed class RetryingHandlerTests
{
    [Fact]
    public async Task A_request_is_sent_again_after_back_off_or_retry_after_until_it_is_answered_and_the_outage_is_measured()
    {
        var clock = new InstantClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var server = new ScriptedServer(clock,
            _ => throw new HttpRequestException("Connection refused"),
            _ => throw new HttpRequestException("Connection refused"),
            _ => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Headers = { RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7)) } },
            _ => new HttpResponseMessage(HttpStatusCode.TooManyRequests),
            request => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(request.Content!.ReadAsStringAsync().Result) });
        var retries = new RetryingHandler(server, clock, new Random(1));
        using var http = new HttpClient(retries) { BaseAddress = new Uri("http://fleet.invalid") };

        RetryingHandler.Requester.Value = "device-1";
        var response = await http.PostAsync("/api/device/v1/actions/a/result", new StringContent("""{"status":"succeeded"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The body went with every attempt, and the last one answered with it.
        Assert.Equal("""{"status":"succeeded"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(5, server.Attempts.Count);
        Assert.Equal(4, retries.Retried);
        var gaps = server.Attempts.Zip(server.Attempts.Skip(1), (a, b) => b - a).ToList();
        // Back-off: half to all of 0.5 s, then of 1 s; then the server's 7 s; then half to all of 4 s.
        Assert.InRange(gaps[0], TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500));
        Assert.InRange(gaps[1], TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(1000));
        Assert.Equal(TimeSpan.FromSeconds(7), gaps[2]);
        Assert.InRange(gaps[3], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        Assert.Equal(server.Attempts[^1] - server.Attempts[0], retries.LongestOutages["device-1"]);
    }

    [Fact]
    public void Back_off_doubles_to_its_cap_with_jitter()
    {
        var retries = new RetryingHandler(new HttpClientHandler(), TimeProvider.System, new Random(7));
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var step = Math.Min(RetryingHandler.MaxBackoff.TotalMilliseconds, RetryingHandler.FirstBackoff.TotalMilliseconds * Math.Pow(2, attempt));
            Assert.InRange(retries.Backoff(attempt).TotalMilliseconds, step / 2, step);
        }
    }

    /// <summary>A clock whose timers fire at once, moving the time forward by what they waited: waits cost no real time.</summary>
    private sealed class InstantClock(DateTimeOffset start) : TimeProvider
    {
        private long _ticks = start.UtcTicks;

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                Interlocked.Add(ref _ticks, dueTime.Ticks);
                ThreadPool.QueueUserWorkItem(_ => callback(state));
            }
            return new Fired();
        }

        private sealed class Fired : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => false;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>Answers each attempt with the next scripted outcome, noting when (on the test's clock) it came.</summary>
    private sealed class ScriptedServer(TimeProvider clock, params Func<HttpRequestMessage, HttpResponseMessage>[] outcomes) : HttpMessageHandler
    {
        public List<DateTimeOffset> Attempts { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Attempts.Add(clock.GetUtcNow());
            return Task.FromResult(outcomes[Attempts.Count - 1](request));
        }
    }
}
