using System.Net;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Conventions;

public sealed class RateLimitTests() : TenantScopedTests("rate")
{
    [Fact]
    public async Task A_key_over_its_budget_gets_429_with_retry_after_and_other_keys_carry_on()
    {
        using var busy = Tenant.Server.Client(await Tenant.CreateKeyAsync("fleet:read"));
        HttpResponseMessage? limited = null;
        // The default budget is 1200 requests per minute per key.
        for (var i = 0; i < 1300 && limited is null; i++)
        {
            var response = await busy.GetAsync("/api/v1/tenants/current");
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited = response;
            else await response.AssertStatusAsync(HttpStatusCode.OK);
        }
        Assert.NotNull(limited);
        await limited.AssertErrorAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.InRange(int.Parse(limited.Headers.GetValues("Retry-After").Single()), 1, 60);

        await (await Owner.GetAsync("/api/v1/tenants/current")).AssertStatusAsync(HttpStatusCode.OK);
    }
}
