using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>
/// A pass-through in front of the emulator's Table endpoint that counts every request the app's worker sends: the worker
/// runs in its own process, so what it reads and writes is observed on the wire, the way <see cref="StorageRequestCounter"/>
/// counts in-process clients.
/// </summary>
public sealed class StorageTap : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StorageTap(WebApplication app, Uri address, StorageRequestCounter counter)
    {
        _app = app;
        Address = address;
        Counter = counter;
    }

    public Uri Address { get; }
    public StorageRequestCounter Counter { get; }

    public static async Task<StorageTap> StartAsync(Uri target)
    {
        var counter = new StorageRequestCounter();
        var emulator = new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, ActivityHeadersPropagator = null });
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHttpForwarder();
        var port = Azurite.FreePort();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        var transformer = new RawTargetTransformer(target);
        app.Run(async context =>
        {
            counter.Record(context.Request.Method, RawTargetTransformer.Address(target, context));
            await forwarder.SendAsync(context, target.ToString(), emulator, ForwarderRequestConfig.Empty, transformer);
        });
        await app.StartAsync();
        return new StorageTap(app, new Uri($"http://127.0.0.1:{port}/"), counter);
    }

    /// <summary>The connection string with its Table endpoint pointed at this tap.</summary>
    public static string Tapped(string connectionString, Uri tap) => string.Join(';', connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries)
        .Select(part => part.StartsWith("TableEndpoint=", StringComparison.OrdinalIgnoreCase)
            ? $"TableEndpoint={tap}{new Uri(part["TableEndpoint=".Length..]).AbsolutePath.Trim('/')}"
            : part)) + ";";

    /// <summary>The scheme, host and port of the connection string's Table endpoint.</summary>
    public static Uri TableEndpoint(string connectionString) =>
        new(new Uri(connectionString.Split(';').First(p => p.StartsWith("TableEndpoint=", StringComparison.OrdinalIgnoreCase))["TableEndpoint=".Length..]).GetLeftPart(UriPartial.Authority) + "/");

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
