using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Idempotency;
using ServerlessFleet.Shared.Storage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Conventions;

public sealed class IdempotencyTests() : TenantScopedTests("idem")
{
    private Task<HttpResponseMessage> CreateDeviceAsync(HttpClient client, string key, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/devices") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }

    [Fact]
    public async Task Repeat_with_the_same_key_and_body_returns_the_original_response_and_creates_once()
    {
        var key = Guid.NewGuid().ToString();
        var body = new { serial = "idem-1", hardwareVersion = "r1" };
        var first = await (await CreateDeviceAsync(Owner, key, body)).AssertStatusAsync(HttpStatusCode.Created);
        var again = await (await CreateDeviceAsync(Owner, key, body)).AssertStatusAsync(HttpStatusCode.Created);

        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, again.Headers.Location);
        Assert.Equal(first.Headers.ETag, again.Headers.ETag);
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        var audit = await (await Owner.GetAsync("/api/v1/audit-logs?objectId=idem-1&action=device.create")).JsonAsync();
        Assert.Single(audit.GetProperty("data").EnumerateArray());
    }

    [Theory]
    [InlineData(5, HttpStatusCode.Created)]
    [InlineData(0, HttpStatusCode.Conflict)]
    public async Task A_claim_left_by_a_request_that_died_lapses_and_the_retry_runs(int minutesAgo, HttpStatusCode expected)
    {
        var key = Guid.NewGuid().ToString();
        var body = $$"""{"serial":"idem-crash-{{minutesAgo}}","hardwareVersion":"r1"}""";
        // What a worker that died mid-request leaves: its claim, still "running".
        var rowKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"POST /api/v1/devices\n{key}")));
        var table = Tenant.Server.Services.GetRequiredService<FleetStorage>().Table(IdempotencyStore.TableName);
        await table.AddEntityAsync(new TableEntity(Tenant.TenantId, rowKey)
        {
            ["BodyHash"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body))),
            ["State"] = "running",
            ["CreatedAt"] = DateTimeOffset.UtcNow.AddMinutes(-minutesAgo),
        });
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/devices") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        var response = await Owner.SendAsync(request);
        if (expected == HttpStatusCode.Created) await response.AssertStatusAsync(HttpStatusCode.Created);
        else await response.AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Same_key_with_another_body_is_409()
    {
        var key = Guid.NewGuid().ToString();
        await (await CreateDeviceAsync(Owner, key, new { serial = "idem-2", hardwareVersion = "r1" })).AssertStatusAsync(HttpStatusCode.Created);
        await (await CreateDeviceAsync(Owner, key, new { serial = "idem-3", hardwareVersion = "r1" })).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
        await (await Owner.GetAsync("/api/v1/devices/idem-3")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Failed_request_does_not_burn_its_key()
    {
        var key = Guid.NewGuid().ToString();
        await (await CreateDeviceAsync(Owner, key, new { serial = "idem-4" })).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        // The same key may be used again once the request is put right: only successes are kept.
        await (await CreateDeviceAsync(Owner, key, new { serial = "idem-4", hardwareVersion = "r1" })).AssertStatusAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Keys_belong_to_their_tenant()
    {
        var key = Guid.NewGuid().ToString();
        var body = new { serial = "idem-5", hardwareVersion = "r1" };
        await (await CreateDeviceAsync(Owner, key, body)).AssertStatusAsync(HttpStatusCode.Created);
        var other = await Tenant.Server.CreateTenantAsync("idem-other");
        using var otherClient = other.OwnerClient();
        var theirs = await (await CreateDeviceAsync(otherClient, key, body)).AssertStatusAsync(HttpStatusCode.Created);
        Assert.False(theirs.Headers.Contains("Idempotent-Replayed"));
        await (await otherClient.GetAsync("/api/v1/devices/idem-5")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Concurrent_repeats_create_one_device()
    {
        var key = Guid.NewGuid().ToString();
        var body = new { serial = "idem-6", hardwareVersion = "r1" };
        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => CreateDeviceAsync(Owner, key, body)));
        Assert.All(results, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, r.StatusCode.ToString()));
        Assert.Contains(results, r => r.StatusCode == HttpStatusCode.Created);
        var audit = await (await Owner.GetAsync("/api/v1/audit-logs?objectId=idem-6&action=device.create")).JsonAsync();
        Assert.Single(audit.GetProperty("data").EnumerateArray());
    }
}
