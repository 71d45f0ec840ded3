using ServerlessFleet.Functions.Conventions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using ServerlessFleet.Functions.Hosting;

namespace ServerlessFleet.Functions.Middleware;

/// <summary>
/// The body limit, applied by the app while it reads rather than by the server: past the limit the read fails with 413,
/// and the server consumes the rest of the body (up to <see cref="FleetApp.ServerMaxRequestBodyBytes"/>) so the
/// connection stays sound. A server-side limit closes the connection while the host is still sending, and the host
/// then reports a failed forward (502) instead of the 413.
/// </summary>
public sealed class RequestBodyLimits : HttpFunctionMiddleware
{
    protected override Task InvokeAsync(FunctionContext function, HttpContext http, FunctionExecutionDelegate next)
    {
        var limit = new RequestBodyLimit();
        http.Features.Set(limit);
        if (http.Request.ContentLength is { } declared && declared > FleetApp.ServerMaxRequestBodyBytes)
            throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
        http.Request.Body = new LimitedBody(http.Request.Body, limit);
        return next(function);
    }

    private sealed class LimitedBody(Stream inner, RequestBodyLimit limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            Counted(await inner.ReadAsync(buffer, ct));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        private int Counted(int read)
        {
            _read += read;
            if (_read > limit.Bytes) throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
