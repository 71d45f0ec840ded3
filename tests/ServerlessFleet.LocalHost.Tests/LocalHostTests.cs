using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.LocalHost.Tests;

/// <summary>
/// The local Functions host running the real worker: queue semantics from host.json, and a worker that dies. Each test
/// has storage of its own: no other host may take its messages or its task hub's partitions.
/// </summary>
public sealed partial class LocalHostTests
{
    private static Task<LocalFleet> StartAsync(int maxWorkerRestarts = 5, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Fleet:BootstrapKey"] = "local-host-test-bootstrap-key-0123456789",
            ["Logging:LogLevel:Default"] = "Warning",
            // Failed messages are retried at once.
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
            ["LocalHost:MaxWorkerRestarts"] = maxWorkerRestarts.ToString(),
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>()) settings[key] = value;
        return LocalFleet.StartAsync(new LocalFleetOptions(settings, Azurite.StartPrivate()));
    }

    [Fact]
    public async Task A_failing_message_is_retried_then_moved_to_the_poison_queue_after_five_dequeues()
    {
        await using var server = await StartAsync();
        var storage = server.Services.GetRequiredService<FleetStorage>();
        var poison = storage.Queue(ActionService.DeliveryQueue + "-poison");
        await poison.CreateIfNotExistsAsync();
        var marker = $"not-a-delivery-{Guid.NewGuid():n}";
        await storage.Queue(ActionService.DeliveryQueue).SendMessageAsync(marker);

        var poisoned = await Eventually.WaitAsync(async () => (await poison.PeekMessagesAsync(32)).Value.FirstOrDefault(m => m.Body.ToString() == marker),
            m => m is not null, TimeSpan.FromSeconds(60), "the message in the poison queue");
        Assert.NotNull(poisoned);
        // The host logged each failed attempt of that message, then the move: five dequeues, not one more.
        // The failure the worker reported names the message's text, which identifies the host's message id.
        var messageId = Regex.Match(server.Host.RecentOutput, $@"DeliverDeviceAction failed on message ([^ ]+) \(dequeue 1\): [^\n]*{marker}").Groups[1].Value;
        Assert.NotEmpty(messageId);
        var moved = await Eventually.WaitAsync(() => Task.FromResult(Regex.Match(server.Host.RecentOutput,
            $@"DeliverDeviceAction: message {Regex.Escape(messageId)} moved to {ActionService.DeliveryQueue}-poison after (\d+) attempts")), m => m.Success, what: "the host's poison log line");
        Assert.Equal("5", moved.Groups[1].Value);
        var attempts = Regex.Matches(server.Host.RecentOutput, $@"DeliverDeviceAction failed on message {Regex.Escape(messageId)} \(dequeue (\d+)\)")
            .Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.Equal([1, 2, 3, 4, 5], attempts);
    }

    [Fact]
    public async Task A_worker_that_dies_fails_its_requests_in_flight_and_is_started_again_until_it_dies_too_often()
    {
        await using var server = await StartAsync(maxWorkerRestarts: 1);
        var pid = int.Parse(WorkerPid().Match(server.Host.RecentOutput).Groups[1].Value);
        using var client = server.Client();
        var body = new SlowContent();
        var request = client.PostAsync("/api/device/v1/auth", body);
        await body.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Process.GetProcessById(pid).Kill(entireProcessTree: true);

        // The request in flight never hangs: handed to the dead worker it fails (5xx, or the connection drops); not yet
        // handed over, it waits for the next worker, which refuses its half-sent body.
        body.Release.TrySetResult();
        var outcome = await Record.ExceptionAsync(async () =>
        {
            var response = await request.WaitAsync(TimeSpan.FromSeconds(90));
            Assert.True((int)response.StatusCode >= 400, $"answered {(int)response.StatusCode}");
        });
        Assert.True(outcome is null or HttpRequestException, $"the request neither failed nor was refused: {outcome}");

        // The host says why and starts another worker, which serves the next requests.
        var restarted = await Eventually.WaitAsync(() => Task.FromResult(WorkerPid().Matches(server.Host.RecentOutput)), m => m.Count == 2, TimeSpan.FromSeconds(60), "a second worker");
        Assert.Contains("The worker process exited with code", server.Host.RecentOutput);
        var second = int.Parse(restarted[1].Groups[1].Value);
        Assert.NotEqual(pid, second);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/health")).StatusCode);
        Assert.False(server.Host.Exited.IsCompleted);

        // Past its restarts within the window, the host gives up and exits non-zero, saying so.
        Process.GetProcessById(second).Kill(entireProcessTree: true);
        Assert.Equal(1, await server.Host.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("not starting it again", server.Host.RecentOutput);
    }

    [Fact]
    public async Task Requests_past_host_jsons_outstanding_limit_are_refused_with_429_in_the_error_json()
    {
        await using var server = await StartAsync(more: new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost:extensions:http:maxConcurrentRequests"] = "1",
            ["AzureFunctionsJobHost:extensions:http:maxOutstandingRequests"] = "1",
        });
        using var client = server.Client();

        // Fifty at once against room for one: the one the host runs is answered, those that come while it runs are refused.
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.GetAsync("/api/health")));
        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.OK);
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        var refused = answers.First(a => a.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        var error = System.Text.Json.JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("rate_limited", error.GetProperty("type").GetString());
        Assert.Contains("maxOutstandingRequests", error.GetProperty("message").GetString());
        Assert.Contains("HTTP requests: at most 1 at once, 1 running and waiting", server.Host.RecentOutput);
    }

    [Fact]
    public async Task Requests_the_server_refuses_before_any_route_still_get_the_error_json()
    {
        await using var server = await StartAsync();
        using var client = server.Client();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "local-host-test-bootstrap-key-0123456789");

        // Requests before and after on kept-alive connections, with a sized and a chunked body, pass as they came.
        var sized = await client.PostAsync("/api/v1/tenants", new StringContent("""{"tenantId":"guard-sized"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, sized.StatusCode);
        var chunked = new StreamContent(new MemoryStream("""{"tenantId":"guard-chunked"}"""u8.ToArray()));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var streamed = await client.PostAsync("/api/v1/tenants", chunked);
        Assert.Equal(HttpStatusCode.Created, streamed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tenants/guard-sized")).StatusCode);

        foreach (var (target, status, type) in new[]
        {
            ("/api/v1/devices/a%00b", HttpStatusCode.BadRequest, "validation_error"),
            ("/api/v1/devices/" + new string('a', 12_000), HttpStatusCode.RequestUriTooLong, "uri_too_long"),
        })
        {
            var response = await client.GetAsync(target);
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(type, body.GetProperty("type").GetString());
            Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
            Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), body.GetProperty("requestId").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tenants/guard-chunked")).StatusCode);

        // Sent in one write on one connection: the requests before a refused one are answered in order, then the refusal.
        const string auth = "Authorization: Bearer local-host-test-bootstrap-key-0123456789\r\n";
        const string tenant = """{"tenantId":"guard-pipelined"}""";
        var pipelined = "GET /api/v1/tenants/guard-sized HTTP/1.1\r\nHost: local\r\n" + auth + "\r\n" +
                        $"POST /api/v1/tenants HTTP/1.1\r\nHost: local\r\n{auth}Content-Type: application/json\r\nContent-Length: {tenant.Length}\r\n\r\n{tenant}" +
                        "GET /api/v1/devices/a%00b HTTP/1.1\r\nHost: local\r\n" + auth + "\r\n";
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(client.BaseAddress!.Host, client.BaseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(pipelined));
        var answers = await ReadAnswersAsync(stream, count: 3).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["HTTP/1.1 200", "HTTP/1.1 201", "HTTP/1.1 400"], StatusLines().Matches(answers).Select(m => m.Value));
        Assert.EndsWith("\"type\":\"validation_error\"", answers[..answers.LastIndexOf(",\"message\"", StringComparison.Ordinal)]);
    }

    /// <summary>What the server sent until <paramref name="count"/> answers are whole (their JSON bodies closed) or it closed the connection.</summary>
    private static async Task<string> ReadAnswersAsync(Stream stream, int count)
    {
        var received = new System.Text.StringBuilder();
        var buffer = new byte[16 * 1024];
        while (StatusLines().Count(received.ToString()) < count || !received.ToString().TrimEnd().EndsWith('}'))
        {
            int read;
            // A server that closes with bytes of the client still unread resets the connection: what came before counts.
            try { read = await stream.ReadAsync(buffer); }
            catch (IOException) { break; }
            if (read == 0) break;
            received.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        }
        return received.ToString();
    }

    [GeneratedRegex(@"^HTTP/1\.1 \d{3}", RegexOptions.Multiline)]
    private static partial Regex StatusLines();

    [GeneratedRegex(@"Started worker process (\d+)")]
    private static partial Regex WorkerPid();

    /// <summary>A request body that starts, then keeps the request open.</summary>
    private sealed class SlowContent : HttpContent
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync("{\"identity\":"u8.ToArray());
            await stream.FlushAsync();
            Started.TrySetResult();
            await Release.Task.WaitAsync(TimeSpan.FromSeconds(60));
            for (var i = 0; i < 64; i++)
            {
                await stream.WriteAsync(new byte[16 * 1024]);
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
