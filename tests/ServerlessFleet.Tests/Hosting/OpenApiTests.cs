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
    public async Task Reference_page_and_health_are_anonymous()
    {
        var server = await FleetServer.Shared;
        using var client = server.Client();
        var page = await (await client.GetAsync("/api/docs")).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Contains("text/html", page.Content.Headers.ContentType!.ToString());
        var health = await (await client.GetAsync("/api/health")).JsonAsync();
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal("ok", health.GetProperty("checks").GetProperty("tables").GetString());
    }
}
