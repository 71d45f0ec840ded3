using ServerlessFleet.DevStorage;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Hosting;

public sealed class FunctionJsonSyncTests
{
    [Fact]
    public async Task Generated_function_json_matches_the_apps_routes_and_triggers()
    {
        var server = await ProbeServer.Shared;
        var catalog = server.Services.GetRequiredService<FunctionCatalog>();
        var folder = Directory.CreateTempSubdirectory("functionapp").FullName;
        FunctionJsonGenerator.WriteAll(catalog.Functions, folder);

        var fromFiles = Directory.GetDirectories(folder)
            .Select(d => FunctionJsonGenerator.Parse(Path.GetFileName(d), JsonNode.Parse(File.ReadAllText(Path.Combine(d, "function.json")))!.AsObject()))
            .ToDictionary(f => f.Name);

        // Names unique (case-insensitively, they are folder names) and one file per declared function.
        Assert.Equal(catalog.Functions.Count, fromFiles.Count);
        Assert.Equal(fromFiles.Count, fromFiles.Keys.Distinct(StringComparer.OrdinalIgnoreCase).Count());

        // Every route the handler serves is a function with the identical route and methods.
        var routes = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<TriggerFunctionMetadata>() is null).ToList();
        Assert.Equal(routes.Count, fromFiles.Values.Count(f => f.Kind == TriggerKind.Http));
        foreach (var endpoint in routes)
        {
            var route = endpoint.RoutePattern.RawText!.Trim('/');
            var methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()!.HttpMethods.Select(m => m.ToLowerInvariant()).Order().ToList();
            Assert.Contains(fromFiles.Values, f => f.Kind == TriggerKind.Http && f.Route == route && f.Methods!.Order().SequenceEqual(methods));
        }

        // Queue and timer triggers as declared.
        Assert.Equal(ProbeServer.QueueName, fromFiles["ProbeQueue"].QueueName);
        Assert.Equal(ProbeServer.TimerSchedule, fromFiles["ProbeTimer"].Schedule);
        Assert.All(fromFiles.Values.Where(f => f.Kind == TriggerKind.Timer), f => Cronos.CronExpression.Parse(f.Schedule!, Cronos.CronFormat.IncludeSeconds));
    }

    [Fact]
    public async Task Every_http_function_route_reaches_a_handler()
    {
        var server = await ProbeServer.Shared;
        var catalog = server.Services.GetRequiredService<FunctionCatalog>();
        using var client = server.Client();
        foreach (var function in catalog.Functions.Where(f => f.Kind == TriggerKind.Http))
        {
            var path = "/" + System.Text.RegularExpressions.Regex.Replace(function.Route!, @"\{[^}]+\}", "x");
            foreach (var method in function.Methods!)
            {
                var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path));
                // Unmatched routes answer 404/405 from routing; a matched route answers auth, validation or content.
                Assert.True(response.StatusCode is not (HttpStatusCode.MethodNotAllowed) && !(response.StatusCode == HttpStatusCode.NotFound && await IsRoutingMiss(response)),
                    $"{method} {path} ({function.Name}) did not reach a handler: {(int)response.StatusCode}");
            }
        }
    }

    private static async Task<bool> IsRoutingMiss(HttpResponseMessage response) =>
        (await response.Content.ReadAsStringAsync()).Contains("No such resource.");

    [Fact]
    public void Host_json_configures_the_custom_handler_and_queue_retries()
    {
        var hostJson = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Find(), "host.json")))!;
        Assert.Equal("2.0", hostJson["version"]!.GetValue<string>());
        Assert.True(hostJson["customHandler"]!["enableForwardingHttpRequest"]!.GetValue<bool>());
        Assert.Equal("bin/ServerlessFleet.Functions", hostJson["customHandler"]!["description"]!["defaultExecutablePath"]!.GetValue<string>());
        Assert.Equal("", hostJson["extensions"]!["http"]!["routePrefix"]!.GetValue<string>());
        Assert.Equal(5, hostJson["extensions"]!["queues"]!["maxDequeueCount"]!.GetValue<int>());
        Assert.NotNull(hostJson["extensionBundle"]!["id"]);
    }
}
