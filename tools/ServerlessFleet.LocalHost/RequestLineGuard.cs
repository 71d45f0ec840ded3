using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;

namespace ServerlessFleet.LocalHost;

/// <summary>
/// Kestrel answers a request line it refuses (a request target over its 8 KB limit, a <c>%00</c> that decodes to NUL)
/// itself, before any middleware, with no body. In Azure the front end answers such requests; locally this connection
/// middleware does, in the API's error shape, so that every non-2xx the host gives has a JSON body. It reads each
/// request's head ahead of Kestrel (and passes on exactly the body its headers announce); a request it refuses ends the
/// connection once Kestrel has answered the requests before it. A chunked body, an upgrade or HTTP/2 switch it to
/// passing bytes through unread for the rest of the connection.
/// </summary>
public sealed class RequestLineGuard
{
    /// <summary>Kestrel's own limit on a request line (method, target, version).</summary>
    public const int MaxRequestLine = 8 * 1024;
    private const int MaxHead = 64 * 1024;
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private sealed record Refusal(int Status, string Reason, string Type, string Message);

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var client = connection.Transport;
        var toServer = new Pipe();
        // Answers go straight to the client; only completing the output is kept back, for a refusal that follows them.
        connection.Transport = new DuplexPipe(toServer.Reader, new HeldOpenWriter(client.Output));
        var inbound = ForwardRequestsAsync(client.Input, toServer.Writer);
        try
        {
            await next(connection);
        }
        finally
        {
            // The server is done with the connection (the client left, a refusal ended it, an idle timeout): stop reading.
            client.Input.CancelPendingRead();
        }
        var refusal = await inbound;
        if (refusal is not null) await client.Output.WriteAsync(Answer(refusal));
        await client.Output.CompleteAsync();
    }

    /// <summary>Forwards requests until the client is done or one is refused (then returned).</summary>
    private static async Task<Refusal?> ForwardRequestsAsync(PipeReader client, PipeWriter server)
    {
        try
        {
            while (true)
            {
                var result = await client.ReadAsync();
                if (result.IsCanceled) return null;
                var buffer = result.Buffer;
                var end = Find(buffer, HeadEnd);
                if (end is null)
                {
                    if (buffer.Length > MaxHead) return await PassThroughAsync(client, server, buffer);
                    if (result.IsCompleted)
                    {
                        await server.WriteAsync(buffer.ToArray());
                        client.AdvanceTo(buffer.End);
                        return null;
                    }
                    client.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }
                var head = buffer.Slice(0, end.Value + HeadEnd.Length);
                var headBytes = head.ToArray();
                var text = Encoding.Latin1.GetString(headBytes);
                var line = text[..text.IndexOf("\r\n", StringComparison.Ordinal)];
                if (Refuse(line) is { } refusal)
                {
                    client.AdvanceTo(buffer.End);
                    return refusal;
                }
                await server.WriteAsync(headBytes);
                var body = BodyOf(line, text);
                client.AdvanceTo(head.End);
                if (body is null) return await PassThroughAsync(client, server, null);
                if (body > 0) await CopyBodyAsync(client, server, body.Value);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException)
        {
            // The client went away, or the server ended the connection while this waited for more.
            return null;
        }
        finally
        {
            await server.CompleteAsync();
        }
    }

    private static Refusal? Refuse(string line)
    {
        var parts = line.Split(' ');
        if (parts.Length != 3) return null;
        if (line.Length > MaxRequestLine)
            return new Refusal(414, "URI Too Long", "uri_too_long", $"The request target is longer than this host accepts ({MaxRequestLine} bytes with the method and version).");
        if (parts[1].Contains("%00", StringComparison.Ordinal))
            return new Refusal(400, "Bad Request", "validation_error", "The request target contains an encoded NUL (%00), which no route accepts.");
        return null;
    }

    /// <summary>The body's length from the head: 0 for none, null when it cannot be known without reading it (chunked, upgrade, HTTP/2).</summary>
    private static long? BodyOf(string line, string head)
    {
        if (!line.EndsWith("HTTP/1.1", StringComparison.Ordinal) && !line.EndsWith("HTTP/1.0", StringComparison.Ordinal)) return null;
        long length = 0;
        foreach (var header in head.Split("\r\n").Skip(1))
        {
            var colon = header.IndexOf(':');
            if (colon <= 0) continue;
            var (name, value) = (header[..colon].Trim(), header[(colon + 1)..].Trim());
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)) return null;
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && !long.TryParse(value, out length)) return null;
        }
        return length;
    }

    private static async Task CopyBodyAsync(PipeReader client, PipeWriter server, long length)
    {
        while (length > 0)
        {
            var result = await client.ReadAsync();
            if (result.IsCanceled) return;
            var chunk = result.Buffer.Slice(0, Math.Min(length, result.Buffer.Length));
            foreach (var segment in chunk) await server.WriteAsync(segment);
            length -= chunk.Length;
            client.AdvanceTo(chunk.End);
            if (result.IsCompleted && length > 0) return;
        }
    }

    private static async Task<Refusal?> PassThroughAsync(PipeReader client, PipeWriter server, ReadOnlySequence<byte>? unread)
    {
        if (unread is { } pending)
        {
            foreach (var segment in pending) await server.WriteAsync(segment);
            client.AdvanceTo(pending.End);
        }
        await client.CopyToAsync(server);
        return null;
    }

    private static long? Find(ReadOnlySequence<byte> buffer, byte[] pattern)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> before, pattern, advancePastDelimiter: false) ? before.Length : null;
    }

    private static byte[] Answer(Refusal refusal)
    {
        var requestId = Guid.NewGuid().ToString("n");
        var body = JsonSerializer.SerializeToUtf8Bytes(new { type = refusal.Type, message = refusal.Message, requestId });
        var head = $"HTTP/1.1 {refusal.Status} {refusal.Reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {body.Length}\r\n" +
                   $"X-Request-Id: {requestId}\r\nConnection: close\r\nDate: {DateTime.UtcNow:R}\r\n\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. body];
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>The client's output as the server sees it: every write passes through, completion is left to the guard.</summary>
    private sealed class HeldOpenWriter(PipeWriter inner) : PipeWriter
    {
        public override void Advance(int bytes) => inner.Advance(bytes);
        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(source, cancellationToken);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;
        public override long UnflushedBytes => inner.UnflushedBytes;
        public override void Complete(Exception? exception = null) { }
        public override ValueTask CompleteAsync(Exception? exception = null) => ValueTask.CompletedTask;
    }
}
