using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Hosting;

public sealed class OpenApiTests
{
    [Fact]
    public async Task Document_lists_every_http_function_with_its_scope_and_errors()
    {
        var server = await FleetServer.Shared;
        using var client = server.Client();
        var document = await (await (await client.GetAsync("/api/openapi/v1.json")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        var paths = document.GetProperty("paths");
        var catalog = server.Services.GetRequiredService<FunctionCatalog>();
        foreach (var function in catalog.Http.Where(f => !f.Method.IsDefined(typeof(Microsoft.AspNetCore.Routing.ExcludeFromDescriptionAttribute), false)))
        {
            Assert.True(paths.TryGetProperty("/" + function.Route, out var path), $"/{function.Route} is not in the OpenAPI document");
            foreach (var method in function.HttpMethods!)
            {
                Assert.True(path.TryGetProperty(method.ToLowerInvariant(), out var operation), $"{method} /{function.Route} is not documented");
                Assert.Equal(function.Name, operation.GetProperty("operationId").GetString());
                var scope = operation.GetProperty("x-required-scope").GetString();
                Assert.Equal(function.Access switch
                {
                    RequireScopeAttribute s => s.Scope,
                    RequireApiKeyAttribute => "authenticated",
                    RequireBootstrapKeyAttribute => "bootstrap",
                    RequireDeviceAttribute => "device",
                    _ => "anonymous",
                }, scope);
                var responses = operation.GetProperty("responses");
                var expected = function.Access is AllowAnonymousAccessAttribute ? new[] { "429", "500" } : ["400", "401", "404", "429", "500"];
                foreach (var status in expected)
                    Assert.True(responses.TryGetProperty(status, out _), $"{method} /{function.Route} does not list {status}");
            }
        }
        var createKey = paths.GetProperty("/api/v1/api-keys").GetProperty("post");
        Assert.Equal("user:admin", createKey.GetProperty("x-required-scope").GetString());
        Assert.True(createKey.GetProperty("responses").TryGetProperty("403", out _));
    }

    [Fact]
    public async Task The_mender_compatible_routes_have_their_own_tag()
    {
        var server = await FleetServer.Shared;
        using var client = server.Client();
        var paths = (await (await client.GetAsync("/api/openapi/v1.json")).JsonAsync()).GetProperty("paths");
        var mender = paths.EnumerateObject().Where(p => p.Name.StartsWith("/api/devices/", StringComparison.Ordinal)).ToList();
        Assert.Contains(mender, p => p.Name == "/api/devices/v1/authentication/auth_requests");
        Assert.Contains(mender, p => p.Name == "/api/devices/v2/deployments/device/deployments/next");
        foreach (var operation in mender.SelectMany(p => p.Value.EnumerateObject()))
            Assert.Equal(["Mender-compatible device API"], operation.Value.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.DoesNotContain(paths.EnumerateObject().Where(p => !p.Name.StartsWith("/api/devices/", StringComparison.Ordinal)).SelectMany(p => p.Value.EnumerateObject()),
            o => o.Value.GetProperty("tags").EnumerateArray().Any(t => t.GetString() == "Mender-compatible device API"));
    }

    [Fact]
    public async Task Document_is_what_client_generators_need()
    {
        var server = await FleetServer.Shared;
        using var client = server.Client();
        var document = await (await client.GetAsync("/api/openapi/v1.json")).JsonAsync();
        foreach (var schema in document.GetProperty("components").GetProperty("schemas").EnumerateObject())
        {
            if (!schema.Value.TryGetProperty("properties", out var properties)) continue;
            var required = schema.Value.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(n => n.GetString()!).ToHashSet() : [];
            foreach (var property in properties.EnumerateObject())
            {
                var types = property.Value.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(x => x.GetString()).ToList() : [];
                Assert.False(types.Contains("null") && required.Contains(property.Name), $"{schema.Name}.{property.Name} may be null but is marked required");
                Assert.False(types.Contains("string") && (types.Contains("integer") || types.Contains("number")), $"{schema.Name}.{property.Name} is typed {string.Join("|", types)}");
            }
        }
        var paths = document.GetProperty("paths");
        var upload = paths.GetProperty("/api/v1/artifacts").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("multipart/form-data")
            .GetProperty("schema").GetProperty("$ref").GetString()!.Split('/').Last();
        var form = document.GetProperty("components").GetProperty("schemas").GetProperty(upload).GetProperty("properties");
        foreach (var field in new[] { "name", "version", "kind", "deviceTypesCompatible", "file" })
            Assert.True(form.TryGetProperty(field, out _), $"the upload form does not describe '{field}'");
        var signature = paths.GetProperty("/api/device/v1/auth").GetProperty("post").GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "X-Fleet-Signature");
        Assert.Equal("header", signature.GetProperty("in").GetString());
        Assert.True(signature.GetProperty("required").GetBoolean());
    }

    [Fact]
    public async Task Reference_page_and_health_are_anonymous()
    {
        var server = await FleetServer.Shared;
        using var client = server.Client();
        var page = await (await client.GetAsync("/api/docs")).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Contains("text/html", page.Content.Headers.ContentType!.ToString());
        // Anonymous, and healthy while storage answers. A probe can outlast its 5 s limit while the rest of the suite
        // loads the emulator, so a moment's "unhealthy" is asked again.
        var health = await Eventually.WaitAsync(async () => await (await client.GetAsync("/api/health")).JsonAsync(),
            h => h.GetProperty("status").GetString() == "healthy", TimeSpan.FromSeconds(60), "a healthy answer");
        Assert.Equal("ok", health.GetProperty("checks").GetProperty("tables").GetString());
    }
}
