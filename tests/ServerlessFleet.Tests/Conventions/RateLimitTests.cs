using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Http;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Conventions;

public sealed class RateLimitTests() : TenantScopedTests("rate")
{
    [Fact]
    public async Task A_key_over_its_budget_gets_429_with_retry_after_and_other_keys_carry_on()
    {
        using var busy = Tenant.Server.Client(await Tenant.CreateKeyAsync("fleet:read"));
        // The default budget is 1200 requests per minute per key: 1300 sent at once, well within one window however slow the machine.
        var responses = new ConcurrentBag<HttpResponseMessage>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 1300), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (_, ct) => responses.Add(await busy.GetAsync("/api/v1/tenants/current", ct)));
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.Equal(1200, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var limited = responses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.NotNull(limited);
        await limited.AssertErrorAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.InRange(int.Parse(limited.Headers.GetValues("Retry-After").Single()), 1, 60);

        await (await Owner.GetAsync("/api/v1/tenants/current")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("127.0.0.1", "203.0.113.7", "203.0.113.7")]
    [InlineData("127.0.0.1", "10.9.9.9, 203.0.113.7", "203.0.113.7")]
    [InlineData("::1", "198.51.100.2", "198.51.100.2")]
    [InlineData("127.0.0.1", "", "127.0.0.1")]
    [InlineData("127.0.0.1", "not-an-address", "127.0.0.1")]
    [InlineData("192.0.2.10", "203.0.113.7", "192.0.2.10")]
    public void Anonymous_budgets_are_per_caller_address_not_per_host(string connection, string forwarded, string expected)
    {
        // Behind the host every request arrives from loopback; the caller is the entry the nearest proxy appended.
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(connection);
        if (forwarded.Length > 0) context.Request.Headers["X-Forwarded-For"] = forwarded;
        Assert.Equal(expected, ClientAddress.Of(context));
    }
}
