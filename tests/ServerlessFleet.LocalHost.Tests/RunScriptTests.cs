using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using ServerlessFleet.DevStorage;
using Xunit.Sdk;

namespace ServerlessFleet.LocalHost.Tests;

/// <summary><c>tools/run.sh</c> as a new user runs it: it starts Azurite and the local host, keeps its secrets with its data, and a SIGTERM stops all of it, the worker too.</summary>
public sealed class RunScriptTests
{
    [Fact]
    public async Task Sigterm_stops_azurite_the_host_and_its_worker_and_the_secrets_stay_with_the_data()
    {
        var root = RepositoryRoot.Find();
        var data = Directory.CreateTempSubdirectory("fleet-run-").FullName;
        var (port, blob, queue, table) = (PortOutsideEphemeralRange(), PortOutsideEphemeralRange(), PortOutsideEphemeralRange(), PortOutsideEphemeralRange());
        var start = new ProcessStartInfo("bash", ["tools/run.sh"])
        {
            WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            Environment =
            {
                ["FLEET_PORT"] = port.ToString(), ["FLEET_DATA"] = data, ["AZURITE_BLOB_PORT"] = blob.ToString(),
                ["AZURITE_QUEUE_PORT"] = queue.ToString(), ["AZURITE_TABLE_PORT"] = table.ToString(),
                // The test run built the worker and the host; a second build here would rewrite what other tests run.
                ["FLEET_SKIP_BUILD"] = "1",
            },
        };
        start.Environment.Remove("AzureWebJobsStorage");
        var output = new StringBuilder();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var script = new Process { StartInfo = start };
        void Line(string? line)
        {
            if (line is null) return;
            lock (output) output.AppendLine(line);
            if (line.Contains("Host started", StringComparison.Ordinal)) started.TrySetResult();
        }
        script.OutputDataReceived += (_, e) => Line(e.Data);
        script.ErrorDataReceived += (_, e) => Line(e.Data);
        script.Start();
        script.BeginOutputReadLine();
        script.BeginErrorReadLine();
        try
        {
            await started.Task.WaitAsync(TimeSpan.FromMinutes(4));
            using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
                await Eventually.WaitAsync(async () =>
                {
                    try
                    {
                        using var health = await http.GetAsync("/api/health");
                        return $"{(int)health.StatusCode} {await health.Content.ReadAsStringAsync()}";
                    }
                    catch (HttpRequestException e) { return e.Message; }
                }, answer => answer.StartsWith("200", StringComparison.Ordinal), TimeSpan.FromSeconds(120), "the API to answer /api/health");
            Assert.True(Listening(port) && Listening(blob));

            // The key it printed is the one kept with the data, for the next run.
            var secrets = File.ReadAllText(Path.Combine(data, "secrets.env"));
            var key = secrets.Split('\n').Single(l => l.StartsWith("Fleet__BootstrapKey=", StringComparison.Ordinal))["Fleet__BootstrapKey=".Length..];
            lock (output) Assert.Contains($"Bootstrap key: {key}", output.ToString());

            using (var term = Process.Start("kill", ["-TERM", script.Id.ToString()])) await term.WaitForExitAsync();
            await script.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await Eventually.WaitAsync(() => !Listening(port) && !Listening(blob), TimeSpan.FromSeconds(10), "the host and Azurite to stop listening after SIGTERM");
            string said;
            lock (output) said = output.ToString();
            var worker = System.Text.RegularExpressions.Regex.Match(said, @"Started worker process (\d+)");
            Assert.True(worker.Success, "the host did not say which worker it started");
            Assert.False(Processes.Running(int.Parse(worker.Groups[1].Value)), "the worker outlived the host");
        }
        catch (Exception e)
        {
            // What the script printed (which process ended, and why) is the first thing a failure needs.
            string said;
            lock (output) said = output.ToString();
            throw new XunitException($"{e.Message}\n--- run.sh said ---\n{said[Math.Max(0, said.Length - 4000)..]}");
        }
        finally
        {
            if (!script.HasExited) script.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// A free port below the kernel's ephemeral range: the script binds its ports seconds after they are chosen, and
    /// in a busy test run an outgoing connection can take a just-released ephemeral port in between.
    /// </summary>
    private static int PortOutsideEphemeralRange()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) when (attempt < 100) { }
        }
    }

    private static bool Listening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
