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
        var documented = catalog.Functions.Where(f => f.Kind == TriggerKind.Http && !f.Route!.StartsWith("api/docs") && !f.Route.StartsWith("api/openapi"));
        foreach (var function in documented)
        {
            Assert.True(paths.TryGetProperty("/" + function.Route, out var path), $"/{function.Route} is not in the OpenAPI document");
            foreach (var method in function.Methods!)
            {
                Assert.True(path.TryGetProperty(method, out var operation), $"{method} /{function.Route} is not documented");
                Assert.True(operation.TryGetProperty("x-required-scope", out _), $"{method} /{function.Route} does not state its scope");
                Assert.True(operation.GetProperty("responses").TryGetProperty("500", out _));
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
