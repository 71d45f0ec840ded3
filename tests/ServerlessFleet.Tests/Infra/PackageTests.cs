using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions;
using ServerlessFleet.Functions.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ServerlessFleet.Tests.Infra;

/// <summary>
/// The deployable function app from tools/package.sh: complete layout, and a handler that starts the way the
/// Functions host starts it (from bin/, told its port by FUNCTIONS_CUSTOMHANDLER_PORT) and answers /api/health.
/// </summary>
public sealed class PackageTests
{
    private static readonly Lazy<string> Package = new(BuildPackage);

    private static string BuildPackage()
    {
        var root = RepositoryRoot.Find();
        var folder = Path.Combine(root, "out", "functionapp");
        var app = FleetApp.Build([], b => b.Configuration["AzureWebJobsStorage"] = "UseDevelopmentStorage=true");
        var declared = app.Services.GetRequiredService<FunctionCatalog>().Functions.Select(f => f.Name);
        // Build it when missing or older than the code (a function without its folder).
        if (!File.Exists(Path.Combine(folder, "bin", "ServerlessFleet.Functions")) || declared.Any(n => !Directory.Exists(Path.Combine(folder, n))))
        {
            using var build = Process.Start(new ProcessStartInfo("bash", [Path.Combine(root, "tools", "package.sh")]) { WorkingDirectory = root })!;
            build.WaitForExit();
            Assert.Equal(0, build.ExitCode);
        }
        return folder;
    }

    [Fact]
    public void Every_declared_function_has_its_function_json_and_host_json_points_at_an_executable()
    {
        var folder = Package.Value;
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "host.json")))!;
        var executable = Path.Combine(folder, host["customHandler"]!["description"]!["defaultExecutablePath"]!.GetValue<string>());
        Assert.True(File.Exists(executable), executable);
        Assert.True(File.GetUnixFileMode(executable).HasFlag(UnixFileMode.UserExecute), $"{executable} is not executable");
        Assert.True(host["customHandler"]!["enableForwardingHttpRequest"]!.GetValue<bool>());

        var app = FleetApp.Build([], b => b.Configuration["AzureWebJobsStorage"] = "UseDevelopmentStorage=true");
        var functions = app.Services.GetRequiredService<FunctionCatalog>().Functions;
        foreach (var function in functions)
        {
            var path = Path.Combine(folder, function.Name, "function.json");
            Assert.True(File.Exists(path), $"{function.Name}/function.json is missing");
            Assert.Equal(FunctionJsonGenerator.Generate(function).ToJsonString(), JsonNode.Parse(File.ReadAllText(path))!.ToJsonString());
        }
        var folders = Directory.GetDirectories(folder).Select(Path.GetFileName).Where(n => n != "bin");
        Assert.Equal(functions.Select(f => f.Name).Order(), folders.Order());
        Assert.True(File.Exists(Path.Combine(RepositoryRoot.Find(), "out", "serverlessfleet-functionapp.zip")));
    }

    [Fact]
    public async Task Packaged_handler_starts_like_under_the_host_and_answers_health()
    {
        var folder = Package.Value;
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0)) { listener.Start(); port = ((IPEndPoint)listener.LocalEndpoint).Port; }
        var start = new ProcessStartInfo(Path.Combine(folder, "bin", "ServerlessFleet.Functions"))
        {
            WorkingDirectory = Path.Combine(folder, "bin"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString();
        start.Environment["AzureWebJobsStorage"] = Azurite.ConnectionString;
        start.Environment["Fleet__BootstrapKey"] = "package-test-bootstrap-key-0123456789";
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                try
                {
                    var response = await http.GetAsync("/api/health");
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.Contains("healthy", await response.Content.ReadAsStringAsync());
                    return;
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(250);
                }
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }
}
