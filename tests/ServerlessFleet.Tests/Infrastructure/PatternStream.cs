using System.Security.Cryptography;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>A large, deterministic payload generated on the fly, so tests can send many MB without holding them.</summary>
public sealed class PatternStream(long length, int seed = 1) : Stream
{
    private long _position;

    public static byte ByteAt(long position, int seed) => (byte)((position * 2654435761L + seed * 97) >> 7);

    public static string Sha256(long length, int seed = 1)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        for (long done = 0; done < length;)
        {
            var n = (int)Math.Min(buffer.Length, length - done);
            for (var i = 0; i < n; i++) buffer[i] = ByteAt(done + i, seed);
            hash.AppendData(buffer, 0, n);
            done += n;
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = (int)Math.Min(count, length - _position);
        for (var i = 0; i < n; i++) buffer[offset + i] = ByteAt(_position + i, seed);
        _position += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
