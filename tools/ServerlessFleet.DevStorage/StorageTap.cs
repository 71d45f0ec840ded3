using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.DevStorage;

/// <summary>
/// A pass-through in front of one of the emulator's endpoints (tables, queues or blobs) that counts every request the
/// app's processes send: the worker and the host's Durable Task engine run in their own processes, so what they read and
/// write is observed on the wire, the way <see cref="StorageRequestCounter"/> counts in-process clients.
/// </summary>
public sealed partial class StorageTap : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StorageTap(WebApplication app, StorageRequestCounter counter)
    {
        _app = app;
        Counter = counter;
    }

    public Uri Address { get; private set; } = null!;
    public StorageRequestCounter Counter { get; }

    /// <param name="counter">Shared by the taps of one account's endpoints, so one counter sees all of its traffic.</param>
    public static async Task<StorageTap> StartAsync(Uri target, StorageRequestCounter? counter = null)
    {
        counter ??= new StorageRequestCounter();
        var emulator = new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, ActivityHeadersPropagator = null });
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHttpForwarder();
        // Port 0, bound at once: a port chosen first and bound later can be taken in between.
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        var transformer = new RawTargetTransformer(target);
        var tap = new StorageTap(app, counter);
        app.Run(async context =>
        {
            var address = RawTargetTransformer.Address(target, context);
            if (tap.TakeFault(context.Request.Method, address))
            {
                // What the service answers when it sheds load: clients retry it.
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"odata.error":{"code":"ServerBusy","message":{"lang":"en-US","value":"Injected by the storage tap."}}}""");
                return;
            }
            counter.Record(context.Request.Method, address);
            tap.Observe(context.Request.Method, address);
            if (tap.TakeLostAnswer(context.Request.Method, address))
            {
                // The request reaches the service and takes effect; its answer never reaches the client, which sees a
                // timeout-like failure and retries what was in fact done.
                await ForwardAndDropAnswerAsync(context, address, emulator);
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            }
            if (address.AbsolutePath.EndsWith("/$batch", StringComparison.Ordinal)) await CountBatchAsync(context.Request, counter);
            await forwarder.SendAsync(context, target.ToString(), emulator, ForwarderRequestConfig.Empty, transformer);
        });
        await app.StartAsync();
        tap.Address = new Uri(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.GetRequiredFeature<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>().Addresses.First() + "/");
        return tap;
    }

    private readonly List<Fault> _faults = [];
    private readonly List<(Func<string, Uri, bool> Match, TaskCompletionSource Seen)> _watches = [];

    private readonly Queue<(string Method, Uri Address)> _recent = new();
    private const int RecentRequests = 20_000;

    /// <summary>Completes when a request that <paramref name="match"/> selects has passed the tap (among the recent ones, or later).</summary>
    public Task SeenAsync(Func<string, Uri, bool> match)
    {
        lock (_watches)
        {
            if (_recent.Any(r => match(r.Method, r.Address))) return Task.CompletedTask;
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _watches.Add((match, seen));
            return seen.Task;
        }
    }

    private void Observe(string method, Uri address)
    {
        lock (_watches)
        {
            _recent.Enqueue((method, address));
            if (_recent.Count > RecentRequests) _recent.Dequeue();
            _watches.RemoveAll(w => w.Match(method, address) && w.Seen.TrySetResult() is true);
        }
    }

    /// <summary>The next <paramref name="times"/> requests that <paramref name="match"/> selects are answered 503 Server Busy instead of forwarded.</summary>
    public Fault FailNext(Func<string, Uri, bool> match, int times) => Arm(_faults, match, times);

    private readonly List<Fault> _lostAnswers = [];

    /// <summary>The next <paramref name="times"/> requests that <paramref name="match"/> selects are carried out, but answered 503 instead of with their result.</summary>
    public Fault LoseAnswers(Func<string, Uri, bool> match, int times) => Arm(_lostAnswers, match, times);

    private bool TakeFault(string method, Uri address) => Take(_faults, method, address);

    private bool TakeLostAnswer(string method, Uri address) => Take(_lostAnswers, method, address);

    private static Fault Arm(List<Fault> faults, Func<string, Uri, bool> match, int times)
    {
        var fault = new Fault(match, times);
        lock (faults) faults.Add(fault);
        return fault;
    }

    private static bool Take(List<Fault> faults, string method, Uri address)
    {
        lock (faults) return faults.Any(f => f.Take(method, address));
    }

    private static async Task ForwardAndDropAnswerAsync(HttpContext context, Uri address, HttpMessageInvoker emulator)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), address);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        request.Content = new ByteArrayContent(body.ToArray());
        foreach (var (name, values) in context.Request.Headers)
            if (!name.Equals("Host", StringComparison.OrdinalIgnoreCase) && !request.Headers.TryAddWithoutValidation(name, values.ToArray()))
                request.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
        using var _ = await emulator.SendAsync(request, context.RequestAborted);
    }

    public sealed class Fault(Func<string, Uri, bool> match, int times)
    {
        private readonly int _times = times;
        private int _left = times;
        public int Injected => _times - Volatile.Read(ref _left);

        internal bool Take(string method, Uri address)
        {
            if (!match(method, address)) return false;
            while (Volatile.Read(ref _left) is > 0 and var left)
                if (Interlocked.CompareExchange(ref _left, left - 1, left) == left) return true;
            return false;
        }
    }

    /// <summary>The connection string with one endpoint (<c>TableEndpoint</c>, <c>QueueEndpoint</c>, <c>BlobEndpoint</c>) pointed at a tap.</summary>
    public static string Tapped(string connectionString, Uri tap, string endpoint = "TableEndpoint") => string.Join(';', connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries)
        .Select(part => part.StartsWith(endpoint + "=", StringComparison.OrdinalIgnoreCase)
            ? $"{endpoint}={tap}{new Uri(part[(endpoint.Length + 1)..]).AbsolutePath.Trim('/')}"
            : part)) + ";";

    /// <summary>The scheme, host and port of one of the connection string's endpoints.</summary>
    public static Uri Endpoint(string connectionString, string endpoint = "TableEndpoint") =>
        new(new Uri(connectionString.Split(';').First(p => p.StartsWith(endpoint + "=", StringComparison.OrdinalIgnoreCase))[(endpoint.Length + 1)..]).GetLeftPart(UriPartial.Authority) + "/");

    /// <summary>A table transaction names its table only inside its body: read it (it is small) and attribute the batch.</summary>
    private static async Task CountBatchAsync(HttpRequest request, StorageRequestCounter counter)
    {
        request.EnableBuffering();
        using var reader = new StreamReader(request.Body, leaveOpen: true);
        var body = await reader.ReadToEndAsync();
        request.Body.Position = 0;
        if (BatchTable().Match(body) is { Success: true } table) counter.RecordBatch(table.Groups[1].Value);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:POST|PUT|PATCH|MERGE|DELETE|GET) \S*?/([A-Za-z][A-Za-z0-9]{2,62})\(", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex BatchTable();

    /// <summary>
    /// Forwards to the client's own request target: shared-key signatures cover the path as the client escaped it (keys
    /// such as <c>devices(PartitionKey='…',RowKey='…')</c>), which re-encoding would break.
    /// </summary>
    private sealed class RawTargetTransformer(Uri target) : HttpTransformer
    {
        public static Uri Address(Uri target, HttpContext context) =>
            new(target, context.Features.Get<IHttpRequestFeature>()!.RawTarget.TrimStart('/'));

        public override async ValueTask TransformRequestAsync(HttpContext context, HttpRequestMessage request, string destinationPrefix, CancellationToken ct)
        {
            await base.TransformRequestAsync(context, request, destinationPrefix, ct);
            request.RequestUri = Address(target, context);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
