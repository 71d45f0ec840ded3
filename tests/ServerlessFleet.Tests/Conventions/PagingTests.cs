using System.Net;
using System.Text;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Conventions;

public sealed class PagingTests : IAsyncLifetime
{
    private TestTenant _tenant = null!;

    public async Task InitializeAsync()
    {
        _tenant = await (await FleetServer.Shared).CreateTenantAsync("paging");
        for (var i = 0; i < 6; i++) await _tenant.CreateKeyAsync("fleet:read"); // 7 keys with the owner's
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Pages_walk_forward_and_back_over_the_same_items()
    {
        using var client = _tenant.OwnerClient();
        var pages = new List<string[]>();
        string? next = null;
        var response = await client.GetAsync("/api/v1/api-keys?limit=3");
        while (true)
        {
            var body = await (await response.AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
            pages.Add(body.GetProperty("data").EnumerateArray().Select(k => k.GetProperty("keyId").GetString()!).ToArray());
            next = body.GetProperty("nextPage").GetString();
            if (next is null) break;
            Assert.Contains("rel=\"next\"", response.Headers.GetValues("Link").Single());
            response = await client.GetAsync($"/api/v1/api-keys?after={Uri.EscapeDataString(next)}");
        }
        Assert.Equal([3, 3, 1], pages.Select(p => p.Length));
        Assert.Equal(7, pages.SelectMany(p => p).Distinct().Count());

        // Walk back from the last page with prevPage.
        var last = await response.JsonAsync();
        var prev = last.GetProperty("prevPage").GetString()!;
        var middle = await (await client.GetAsync($"/api/v1/api-keys?before={Uri.EscapeDataString(prev)}")).JsonAsync();
        Assert.Equal(pages[1], middle.GetProperty("data").EnumerateArray().Select(k => k.GetProperty("keyId").GetString()!));
        var first = await (await client.GetAsync($"/api/v1/api-keys?before={Uri.EscapeDataString(middle.GetProperty("prevPage").GetString()!)}")).JsonAsync();
        Assert.Equal(pages[0], first.GetProperty("data").EnumerateArray().Select(k => k.GetProperty("keyId").GetString()!));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, first.GetProperty("prevPage").ValueKind);
    }

    [Fact]
    public async Task Tampered_token_is_400()
    {
        using var client = _tenant.OwnerClient();
        var body = await (await client.GetAsync("/api/v1/api-keys?limit=2")).JsonAsync();
        var token = body.GetProperty("nextPage").GetString()!;
        var payload = token.Split('.')[0];
        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(payload.Replace('-', '+').Replace('_', '/') + new string('=', (4 - payload.Length % 4) % 4)));
        var edited = Convert.ToBase64String(Encoding.UTF8.GetBytes(decoded.Replace("\"l\":2", "\"l\":500"))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var tampered = edited + "." + token.Split('.')[1];

        await (await client.GetAsync($"/api/v1/api-keys?after={Uri.EscapeDataString(tampered)}")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await client.GetAsync("/api/v1/api-keys?after=garbage")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        // A next token passed as "before" is refused too.
        await (await client.GetAsync($"/api/v1/api-keys?before={Uri.EscapeDataString(token)}")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task Token_is_bound_to_its_list()
    {
        using var client = _tenant.OwnerClient();
        var token = (await (await client.GetAsync("/api/v1/api-keys?limit=2")).JsonAsync()).GetProperty("nextPage").GetString()!;
        // Same list, different filter: the continuation would mean something else there.
        var response = await client.GetAsync($"/api/v1/api-keys?after={Uri.EscapeDataString(token)}&status=revoked");
        await response.AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }
}
