using System.Net;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.OperatorConsole;

/// <summary>The console's files: served anonymously by the app, this origin only, revalidated cheaply, and errors in the API's shape.</summary>
public sealed class ConsoleAssetTests
{
    [Fact]
    public async Task The_console_is_served_by_the_app_with_a_strict_policy_and_revalidates_with_its_etag()
    {
        var server = await FleetServer.Shared;
        using var client = server.Client();

        var page = await (await client.GetAsync("/console")).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script type=\"module\" src=\"/console/app.js\">", await page.Content.ReadAsStringAsync());
        var policy = string.Join(" ", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", policy);
        Assert.DoesNotContain("unsafe-inline", policy);

        var script = await (await client.GetAsync("/console/pages/fleet.js")).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        var again = new HttpRequestMessage(HttpMethod.Get, "/console/pages/fleet.js");
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(again)).StatusCode);

        // Page addresses without a file are the page itself; a missing file is a 404 in the API's error shape.
        Assert.Equal("text/html", (await (await client.GetAsync("/console/fleet")).AssertStatusAsync(HttpStatusCode.OK)).Content.Headers.ContentType?.MediaType);
        await (await client.GetAsync("/console/missing.js")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }
}
