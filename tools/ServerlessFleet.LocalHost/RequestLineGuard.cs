using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;

namespace ServerlessFleet.LocalHost;

/// <summary>
/// Kestrel answers a request line it refuses (a request target over its 8 KB limit, a <c>%00</c> that decodes to NUL)
/// itself, before any middleware, with no body. In Azure the front end answers such requests; locally this connection
/// middleware does, in the API's error shape, so that every non-2xx the host gives has a JSON body.
/// </summary>
/// <remarks>
/// It sits in the connection's input as a reader over the client's bytes rather than a copy of them: the server sees a
/// request's bytes only once its whole head was read and let through, and then its announced body; a request it refuses
/// ends the server's input, and is answered once the server has answered the requests before it. A chunked body, an
/// upgrade or HTTP/2 switch it to letting bytes through unread for the rest of the connection.
/// </remarks>
public sealed class RequestLineGuard
{
    /// <summary>Kestrel's own limit on a request line (method, target, version).</summary>
    public const int MaxRequestLine = 8 * 1024;
    private const int MaxHead = 64 * 1024;

    private sealed record Refusal(int Status, string Reason, string Type, string Message);

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var client = connection.Transport;
        var input = new GuardedInput(client.Input);
        // Answers go straight to the client; only completing the output is kept back, for a refusal that follows them.
        connection.Transport = new DuplexPipe(input, new HeldOpenWriter(client.Output));
        await next(connection);
        if (input.Refused is { } refusal) await client.Output.WriteAsync(Answer(refusal));
        await client.Output.CompleteAsync();
    }

    /// <summary>
    /// The client's input as the server reads it, cut at the first byte not yet let through. Offsets are counted from the
    /// connection's first byte, so what was let through survives the server consuming part of it.
    /// </summary>
    private sealed class GuardedInput(PipeReader client) : PipeReader
    {
        private long _bufferStart;
        private long _letThroughTo;
        private bool _unread;
        private ReadOnlySequence<byte> _last;
        private long _shown;

        public Refusal? Refused { get; private set; }

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            Guard(await client.ReadAsync(cancellationToken));

        public override bool TryRead(out ReadResult result)
        {
            if (!client.TryRead(out var read))
            {
                result = default;
                return false;
            }
            result = Guard(read);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            // The server looked at everything it was shown: the client's reader waits for bytes it has not had yet,
            // not for the server to look again at a head still held back. A refused request is not waited on: the
            // server's next read ends its input there.
            var sawAll = Refused is null && _shown < _last.Length && _last.Slice(0, examined).Length >= _shown;
            _bufferStart += _last.Slice(0, consumed).Length;
            client.AdvanceTo(consumed, sawAll ? _last.End : examined);
        }

        public override void CancelPendingRead() => client.CancelPendingRead();

        public override void Complete(Exception? exception = null) => client.Complete(exception);

        private ReadResult Guard(ReadResult read)
        {
            _last = read.Buffer;
            if (read.IsCanceled) return Shown(read, read.Buffer.Length, read.IsCompleted);
            LetThrough(read.Buffer);
            // The server's input ends at a refused request once the server has taken every request before it.
            if (Refused is not null) return Shown(read, _letThroughTo - _bufferStart, completed: _letThroughTo == _bufferStart);
            // A client that ended mid-head leaves the server to answer what it was sent; there is nothing after it to guard.
            _unread |= read.IsCompleted;
            return Shown(read, _unread ? read.Buffer.Length : Math.Min(read.Buffer.Length, _letThroughTo - _bufferStart), read.IsCompleted);
        }

        private ReadResult Shown(ReadResult read, long length, bool completed)
        {
            _shown = length;
            return new ReadResult(read.Buffer.Slice(0, length), read.IsCanceled, completed);
        }

        /// <summary>Lets through each whole head in the buffer that passes, with the body it announces.</summary>
        private void LetThrough(ReadOnlySequence<byte> buffer)
        {
            while (!_unread && Refused is null && _letThroughTo - _bufferStart < buffer.Length)
            {
                var rest = buffer.Slice(_letThroughTo - _bufferStart);
                var reader = new SequenceReader<byte>(rest);
                if (!reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8, advancePastDelimiter: false))
                {
                    _unread = rest.Length > MaxHead;
                    return;
                }
                var bytes = head.IsSingleSegment ? head.FirstSpan : head.ToArray();
                var lineEnd = bytes.IndexOf("\r\n"u8);
                var line = lineEnd < 0 ? bytes : bytes[..lineEnd];
                Refused = Refuse(line);
                if (Refused is not null) return;
                if (BodyOf(line, lineEnd < 0 ? [] : bytes[(lineEnd + 2)..]) is not { } body)
                {
                    _unread = true;
                    return;
                }
                _letThroughTo += head.Length + 4 + body;
            }
        }
    }

    private static Refusal? Refuse(ReadOnlySpan<byte> line)
    {
        if (line.Count((byte)' ') != 2) return null;
        if (line.Length > MaxRequestLine)
            return new Refusal(414, "URI Too Long", "uri_too_long", $"The request target is longer than this host accepts ({MaxRequestLine} bytes with the method and version).");
        var target = line[(line.IndexOf((byte)' ') + 1)..line.LastIndexOf((byte)' ')];
        if (target.IndexOf("%00"u8) >= 0)
            return new Refusal(400, "Bad Request", "validation_error", "The request target contains an encoded NUL (%00), which no route accepts.");
        return null;
    }

    /// <summary>The body's length from the head: 0 for none, null when it cannot be known without reading it (chunked, upgrade, HTTP/2).</summary>
    private static long? BodyOf(ReadOnlySpan<byte> line, ReadOnlySpan<byte> headers)
    {
        if (!line.EndsWith("HTTP/1.1"u8) && !line.EndsWith("HTTP/1.0"u8)) return null;
        long length = 0;
        foreach (var range in headers.Split("\r\n"u8))
        {
            var header = headers[range];
            var colon = header.IndexOf((byte)':');
            if (colon <= 0) continue;
            var name = header[..colon].Trim((byte)' ');
            var value = header[(colon + 1)..].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) || Ascii.EqualsIgnoreCase(name, "Upgrade"u8)) return null;
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) && !(Utf8Parser.TryParse(value, out length, out var used) && used == value.Length)) return null;
        }
        return length;
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
