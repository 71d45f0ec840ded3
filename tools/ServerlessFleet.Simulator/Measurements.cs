using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ServerlessFleet.Simulator;

/// <summary>One route's figures: requests, latency percentiles (ms) and answers by status.</summary>
public sealed record RouteFigures(string Route, int Requests, double P50, double P95, double P99, double Max, IReadOnlyDictionary<int, int> ByStatus);

/// <summary>Latencies and statuses per route (method and path with ids replaced), safe to record from many devices at once.</summary>
public sealed partial class Measurements
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<(double Ms, int Status)>> _routes = new();

    public void Record(string method, string path, double milliseconds, int status) =>
        _routes.GetOrAdd($"{method} {Route(path)}", _ => []).Add((milliseconds, status));

    public int Requests => _routes.Values.Sum(r => r.Count);
    public int Errors => _routes.Values.Sum(r => r.Count(x => x.Status is 0 or >= 500));

    public IReadOnlyList<RouteFigures> Figures() => _routes.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r =>
    {
        var samples = r.Value.ToArray();
        var ms = samples.Select(s => s.Ms).Order().ToArray();
        return new RouteFigures(r.Key, samples.Length, Percentile(ms, 50), Percentile(ms, 95), Percentile(ms, 99), ms.Length == 0 ? 0 : ms[^1],
            samples.GroupBy(s => s.Status).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()));
    }).ToList();

    /// <summary>Nearest-rank percentile of sorted values: the smallest value with at least p % of the values at or below it.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) return 0;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    /// <summary>A path as a route: query dropped, ids and serials replaced, so requests of one route count together.</summary>
    public static string Route(string path)
    {
        var bare = path.Split('?')[0];
        // Anything outside the API is the storage account serving a signed link.
        if (Uri.TryCreate(bare, UriKind.Absolute, out var absolute))
            bare = absolute.AbsolutePath.StartsWith("/api/", StringComparison.Ordinal) ? absolute.AbsolutePath : "(artifact download)";
        return Id().Replace(bare, "/{id}");
    }

    // Deployment and action ids (25 hex characters, a rollback's with a trailing r), serials and action results.
    [GeneratedRegex(@"/(?:[0-9a-f]{20,}r?|sim-[A-Za-z0-9-]+)(?=/|$)")]
    private static partial Regex Id();
}

/// <summary>Times every request of the simulated devices into <see cref="Measurements"/>.</summary>
public sealed class MeasuringHandler(Measurements measurements) : DelegatingHandler(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var response = await base.SendAsync(request, ct);
            measurements.Record(request.Method.Method, request.RequestUri!.ToString(), clock.Elapsed.TotalMilliseconds, (int)response.StatusCode);
            return response;
        }
        catch (HttpRequestException)
        {
            measurements.Record(request.Method.Method, request.RequestUri!.ToString(), clock.Elapsed.TotalMilliseconds, 0);
            throw;
        }
    }
}
