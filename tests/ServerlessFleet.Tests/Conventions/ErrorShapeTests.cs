using ServerlessFleet.Functions.Middleware;
using ServerlessFleet.Functions.Conventions;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Conventions;

public sealed class ErrorShapeTests : IAsyncLifetime
{
    private FleetServer _server = null!;
    private TestTenant _tenant = null!;

    public async Task InitializeAsync()
    {
        _server = await FleetServer.Shared;
        _tenant = await _server.CreateTenantAsync("errors");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Malformed_json_is_400()
    {
        using var client = _tenant.OwnerClient();
        var response = await client.PostAsync("/api/v1/api-keys", new StringContent("{\"name\": ", Encoding.UTF8, "application/json"));
        await response.AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Theory]
    [InlineData("/api/device/v1/auth", """{"identity":{"serial":"dup-1"},"identity":{"serial":"dup-2"},"publicKey":"x","tenantToken":"y"}""")]
    [InlineData("/api/device/v1/auth", """{"a":1,"a":2}""")]
    [InlineData("/api/v1/actions", """{"type":"set-volume","devices":["d1"],"params":{"volume":10,"volume":90}}""")]
    [InlineData("/api/v1/device-auth/preauthorize", """{"identity":{"serial":"s1","serial":"s2"},"publicKey":"x"}""")]
    [InlineData("/api/v1/api-keys", """{"name":"k","name":"k2","scopes":["fleet:read"]}""")]
    public async Task Duplicate_json_keys_are_400(string path, string body)
    {
        using var client = _tenant.OwnerClient();
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Fleet-Signature", Convert.ToBase64String(new byte[64]));
        await (await client.SendAsync(request)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task A_storage_outage_is_a_prompt_503_with_retry_after()
    {
        var key = await _tenant.CreateKeyAsync("fleet:read");
        var keyId = key.Split('.')[0];
        // Every read of this key's row fails as an overloaded or unreachable service answers, through all the client's retries.
        var outage = _server.Tables.FailNext((_, address) => Uri.UnescapeDataString(address.AbsolutePath).Contains($"apikeys(PartitionKey='{keyId}'"), 1000);
        using var client = _server.Client(key);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var response = await client.GetAsync("/api/v1/tenants/current");
        clock.Stop();
        await response.AssertErrorAsync(HttpStatusCode.ServiceUnavailable, "service_unavailable");
        Assert.True(int.Parse(response.Headers.GetValues("Retry-After").Single()) > 0);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"answered after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(outage.Injected >= 3, "the client retried before giving up");
    }

    [Theory]
    [InlineData("GET", "/api/v1/api-keys?limit=abc", null, "limit")]
    [InlineData("POST", "/api/v1/deployments", """{"name":"x","release":{"name":"fw","version":"1"},"target":{"all":true},"phases":"three"}""", "phases")]
    [InlineData("POST", "/api/v1/deployments", """{"name":"x","target":{"devices":[1,{"a":2}]}}""", "target.devices[0]")]
    [InlineData("POST", "/api/v1/api-keys", """{"name":"k","scopes":"fleet:read"}""", "scopes")]
    public async Task Bad_input_names_the_field_and_never_a_dotnet_type(string method, string path, string? body, string field)
    {
        using var client = _tenant.OwnerClient();
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        var error = await (await client.SendAsync(request)).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        var message = error.GetProperty("message").GetString()!;
        Assert.DoesNotMatch(@"System\.|ServerlessFleet\.|Nullable|Int32|List`", message);
        Assert.True(error.GetProperty("errors").TryGetProperty(field, out var problems), $"errors does not name {field}: {error}");
        Assert.DoesNotMatch(@"System\.|Nullable|`", problems[0].GetString()!);
    }

    [Fact]
    public async Task Wrong_json_type_is_400()
    {
        using var client = _tenant.OwnerClient();
        var response = await client.PostAsync("/api/v1/api-keys", new StringContent("{\"name\": 5, \"scopes\": \"fleet:read\"}", Encoding.UTF8, "application/json"));
        await response.AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task Non_numeric_limit_is_400()
    {
        using var client = _tenant.OwnerClient();
        await (await client.GetAsync("/api/v1/api-keys?limit=lots")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await client.GetAsync("/api/v1/api-keys?limit=501")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        await (await client.GetAsync("/api/v1/api-keys?limit=0")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }

    [Fact]
    public async Task Unauthenticated_is_401_with_shape() =>
        await (await _server.Client().GetAsync("/api/v1/api-keys")).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");

    [Fact]
    public async Task Forbidden_is_403_with_shape()
    {
        using var client = _server.Client(await _tenant.CreateKeyAsync("fleet:read"));
        await (await client.GetAsync("/api/v1/api-keys")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task Unknown_route_is_404_with_shape() =>
        await (await _server.Client().GetAsync("/api/v1/no-such-thing")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");

    [Fact]
    public async Task Unknown_resource_is_404_with_shape()
    {
        using var client = _tenant.OwnerClient();
        await (await client.DeleteAsync("/api/v1/api-keys/k00000000000000000000")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Wrong_method_is_405_with_shape_and_allow()
    {
        var response = await _server.Client().PutAsync("/api/health", null);
        await response.AssertErrorAsync(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        Assert.Contains("GET", response.Content.Headers.Allow);
    }

    [Fact]
    public void Every_error_type_the_app_answers_is_in_the_readme_with_its_status()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "README.md"));
        foreach (var category in Enum.GetValues<ErrorCategory>())
            Assert.Contains($"| {category.StatusCode()} | `{category.TypeName()}` |", readme);
    }

    [Fact]
    public async Task Oversize_body_is_413_with_shape()
    {
        using var client = _tenant.OwnerClient();
        var huge = new string('a', 2 * 1024 * 1024);
        var response = await client.PostAsync("/api/v1/api-keys", new StringContent($"{{\"name\":\"{huge}\"}}", Encoding.UTF8, "application/json"));
        await response.AssertErrorAsync(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Fact]
    public void Unhandled_exception_is_500_without_internals()
    {
        var (category, message, errors) = ServerlessFleet.Functions.Middleware.ErrorHandling.Classify(new InvalidOperationException("internal detail that must not leak"));
        Assert.Equal(ServerlessFleet.Shared.Errors.ErrorCategory.Internal, category);
        Assert.DoesNotContain("internal detail", message);
        Assert.Null(errors);
    }

    [Fact]
    public async Task Callers_request_id_is_echoed_in_header_and_error()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/api-keys");
        request.Headers.Add("X-Request-Id", "trace-1234");
        var response = await _server.Client().SendAsync(request);
        var body = await response.AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
        Assert.Equal("trace-1234", body.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task Without_a_callers_id_each_request_gets_its_own()
    {
        var ids = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var response = await _server.Client().GetAsync("/api/v1/api-keys");
            var header = response.Headers.GetValues("X-Request-Id").Single();
            var body = await response.AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
            Assert.Equal(header, body.GetProperty("requestId").GetString());
            Assert.Matches("^[A-Za-z0-9._:-]{1,128}$", header);
            ids.Add(header);
        }
        Assert.NotEqual(ids[0], ids[1]);
    }

    [Fact]
    public async Task Validation_errors_name_their_fields()
    {
        using var client = _tenant.OwnerClient();
        var body = await (await client.PostAsJsonAsync("/api/v1/api-keys", new { scopes = Array.Empty<string>() }))
            .AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        Assert.Equal(JsonValueKindArray, body.GetProperty("errors").GetProperty("scopes").ValueKind);
    }

    private const System.Text.Json.JsonValueKind JsonValueKindArray = System.Text.Json.JsonValueKind.Array;
}
