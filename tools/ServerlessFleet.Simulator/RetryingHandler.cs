using System.Collections.Concurrent;
using System.Net;

namespace ServerlessFleet.Simulator;

/// <summary>
/// What real devices do when the server does not answer: every failed request (connection refused or reset, a
/// timeout, 5xx, 429) is sent again after a capped exponential back-off with jitter, or after the server's
/// <c>Retry-After</c>, until it is answered or the caller gives up. Counts the retries and, per device, the longest
/// outage (first failure to the answer).
/// </summary>
public sealed class RetryingHandler(HttpMessageHandler inner, TimeProvider clock, Random random, TimeSpan? attemptTimeout = null) : DelegatingHandler(inner)
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly TimeSpan _attemptTimeout = attemptTimeout ?? TimeSpan.FromSeconds(60);
    private readonly ConcurrentDictionary<string, TimeSpan> _longestOutage = new(StringComparer.Ordinal);
    private long _retried;

    /// <summary>Who the current request is for (a device's serial), for the outage figures; set by the caller's flow.</summary>
    public static readonly AsyncLocal<string?> Requester = new();

    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>The longest outage each requester saw; requesters that never saw one are absent.</summary>
    public IReadOnlyDictionary<string, TimeSpan> LongestOutages => _longestOutage;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(ct);
        DateTimeOffset? failingSince = null;
        for (var attempt = 0; ; attempt++)
        {
            TimeSpan? serverSaid = null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_attemptTimeout);
            try
            {
                var response = await base.SendAsync(attempt == 0 ? request : Copy(request, body), timeout.Token);
                if (!IsTransient(response.StatusCode))
                {
                    if (failingSince is { } since) RecordOutage(clock.GetUtcNow() - since);
                    return response;
                }
                serverSaid = RetryAfter(response);
                response.Dispose();
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                // Refused, reset or timed out: the server is away; try again as a device would.
            }
            failingSince ??= clock.GetUtcNow();
            Interlocked.Increment(ref _retried);
            await Task.Delay(serverSaid ?? Backoff(attempt), clock, ct);
        }
    }

    private static bool IsTransient(HttpStatusCode status) => status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;

    /// <summary>Full jitter over half to all of the capped exponential step, so a fleet that lost its server does not return in step.</summary>
    public TimeSpan Backoff(int attempt)
    {
        var step = Math.Min(MaxBackoff.TotalMilliseconds, FirstBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16)));
        double factor;
        lock (random) factor = 0.5 + random.NextDouble() * 0.5;
        return TimeSpan.FromMilliseconds(step * factor);
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - clock.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    private void RecordOutage(TimeSpan outage) =>
        _longestOutage.AddOrUpdate(Requester.Value ?? "(operator)", outage, (_, longest) => outage > longest ? outage : longest);

    /// <summary>A request can be sent once: each retry sends a copy, with the body read before the first attempt.</summary>
    private static HttpRequestMessage Copy(HttpRequestMessage request, byte[]? body)
    {
        var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var (name, values) in request.Headers) copy.Headers.TryAddWithoutValidation(name, values);
        if (body is not null)
        {
            copy.Content = new ByteArrayContent(body);
            foreach (var (name, values) in request.Content!.Headers) copy.Content.Headers.TryAddWithoutValidation(name, values);
        }
        return copy;
    }
}
