using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Text.Json.Nodes;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Infra;

/// <summary>
/// The deployable package from tools/package.sh: the worker's publish output with what the Functions host reads
/// (functions.metadata, worker.config.json, extensions.json, .azurefunctions/), listing every function with its trigger.
/// </summary>
public sealed class PackageTests
{
    private static readonly Lazy<string> Package = new(BuildPackage);

    private static string BuildPackage()
    {
        var root = RepositoryRoot.Find();
        var zip = Path.Combine(root, "out", "serverlessfleet-functionapp.zip");
        // Build it when missing or older than any of its sources (CI has just built it from these).
        if (!File.Exists(zip) || NewestSource(root) > File.GetLastWriteTimeUtc(zip))
        {
            using var build = Process.Start(new ProcessStartInfo("bash", [Path.Combine(root, "tools", "package.sh")]) { WorkingDirectory = root })!;
            build.WaitForExit();
            Assert.Equal(0, build.ExitCode);
        }
        var folder = Path.Combine(Path.GetTempPath(), $"sf-package-{Guid.NewGuid():n}");
        ZipFile.ExtractToDirectory(zip, folder);
        return folder;
    }

    private static DateTime NewestSource(string root) =>
        new[] { Path.Combine(root, "functions"), Path.Combine(root, "shared") }
            .SelectMany(dir => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Append(Path.Combine(root, "host.json"))
            .Max(File.GetLastWriteTimeUtc);

    [Fact]
    public void Package_holds_what_the_host_reads_and_the_metadata_lists_every_function()
    {
        var folder = Package.Value;
        foreach (var file in new[] { "host.json", "functions.metadata", "worker.config.json", "extensions.json", "ServerlessFleet.Functions.dll" })
            Assert.True(File.Exists(Path.Combine(folder, file)), $"{file} is missing from the package");
        Assert.True(Directory.EnumerateFiles(Path.Combine(folder, ".azurefunctions")).Any(), ".azurefunctions/ is missing or empty");
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "host.json")))!;
        Assert.Null(host["customHandler"]);
        Assert.Null(host["extensionBundle"]);
        Assert.Equal("dotnet-isolated", JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "worker.config.json")))!["description"]!["language"]!.GetValue<string>());

        var metadata = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "functions.metadata")))!.AsArray()
            .ToDictionary(f => f!["name"]!.GetValue<string>(), f => f!["bindings"]!.AsArray().First(b => b!["type"]!.GetValue<string>().EndsWith("Trigger"))!);
        var catalog = new FunctionCatalog();
        Assert.Equal(catalog.Functions.Select(f => f.Name).Order(), metadata.Keys.Order());
        foreach (var function in catalog.Functions)
        {
            var trigger = metadata[function.Name];
            switch (function.Kind)
            {
                case TriggerKind.Http:
                    Assert.Equal("httpTrigger", trigger["type"]!.GetValue<string>());
                    Assert.Equal(function.Route, trigger["route"]!.GetValue<string>());
                    Assert.Equal(function.HttpMethods!.Select(m => m.ToLowerInvariant()).Order(), trigger["methods"]!.AsArray().Select(m => m!.GetValue<string>()).Order());
                    Assert.Equal("Anonymous", trigger["authLevel"]!.GetValue<string>());
                    break;
                case TriggerKind.Queue:
                    Assert.Equal("queueTrigger", trigger["type"]!.GetValue<string>());
                    Assert.Equal(function.QueueName, trigger["queueName"]!.GetValue<string>());
                    break;
                case TriggerKind.Timer:
                    Assert.Equal("timerTrigger", trigger["type"]!.GetValue<string>());
                    Assert.Equal(function.Schedule, trigger["schedule"]!.GetValue<string>());
                    break;
                case TriggerKind.Orchestration:
                    Assert.Equal("orchestrationTrigger", trigger["type"]!.GetValue<string>());
                    break;
                case TriggerKind.Activity:
                    Assert.Equal("activityTrigger", trigger["type"]!.GetValue<string>());
                    break;
            }
        }
    }

    [Fact]
    public async Task Packaged_worker_runs_under_the_local_host_answers_health_and_logs_requests_when_asked()
    {
        // Storage of its own: this worker's queue listeners must not take the shared server's messages and die holding them.
        await using var host = await LocalHostProcess.StartAsync(Package.Value, new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = Azurite.StartPrivate(),
            ["Fleet:BootstrapKey"] = "package-test-bootstrap-key-0123456789",
            ["Fleet:LogRequests"] = "true",
        }, hostBuild: LocalHostProcess.HostBuildOfThisRun());
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        var response = await http.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("healthy", await response.Content.ReadAsStringAsync());

        // One line per answered request: method, path without its query (a signature, a page token), status, duration.
        var missing = await http.GetAsync("/api/v1/devices?pageToken=secret-cursor");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        var id = missing.Headers.GetValues("X-Request-Id").Single();
        var line = await Eventually.WaitAsync(() => Task.FromResult(host.RecentOutput.Split('\n').FirstOrDefault(l => l.Contains(id))),
            l => l is not null, TimeSpan.FromSeconds(30), "the request's log line");
        Assert.Matches(@"GET /api/v1/devices 401 in \d+\.\d ms", line);
        Assert.DoesNotContain("secret-cursor", host.RecentOutput);
    }
}
