using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
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
        var forward = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, AutomaticDecompression = DecompressionMethods.None });
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = Azurite.FreePort();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.Run(async context =>
        {
            // The raw target keeps the client's own escaping of keys such as devices(PartitionKey='…',RowKey='…').
            var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
            var uri = new Uri(target, raw.TrimStart('/'));
            counter.Record(context.Request.Method, uri);
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), uri);
            if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0) request.Content = new StreamContent(context.Request.Body);
            foreach (var (name, values) in context.Request.Headers)
                if (name is not ("Host" or "Transfer-Encoding" or "Connection") && !request.Headers.TryAddWithoutValidation(name, values.ToArray()))
                    request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            using var response = await forward.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
                if (name is not ("Transfer-Encoding" or "Connection")) context.Response.Headers[name] = values.ToArray();
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
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

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
