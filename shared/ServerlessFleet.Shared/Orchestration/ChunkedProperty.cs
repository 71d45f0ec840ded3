using System.IO.Compression;
using Azure.Data.Tables;

namespace ServerlessFleet.Shared.Orchestration;

/// <summary>
/// Stores a large text in one entity as gzip'd binary properties <c>{prefix}00…</c> of at most 60 KB each:
/// a Table property holds 64 KB, an entity 1 MB, so one row carries about 900 KB compressed.
/// </summary>
internal static class ChunkedProperty
{
    private const int ChunkBytes = 60 * 1024;
    public const int MaxChunks = 15;

    public static void Write(TableEntity entity, string prefix, string? text)
    {
        if (text is null)
        {
            entity[prefix + "Chunks"] = 0;
            return;
        }
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new StreamWriter(gzip)) writer.Write(text);
        var bytes = buffer.ToArray();
        var chunks = (bytes.Length + ChunkBytes - 1) / ChunkBytes;
        if (chunks > MaxChunks)
            throw new OrchestrationStateTooLargeException($"{prefix} is {bytes.Length} bytes compressed; at most {MaxChunks * ChunkBytes} fit in one instance row.");
        for (var i = 0; i < chunks; i++)
            entity[$"{prefix}{i:D2}"] = bytes.AsSpan(i * ChunkBytes, Math.Min(ChunkBytes, bytes.Length - i * ChunkBytes)).ToArray();
        entity[prefix + "Chunks"] = chunks;
    }

    public static string? Read(TableEntity entity, string prefix)
    {
        var chunks = entity.GetInt32(prefix + "Chunks") ?? 0;
        if (chunks == 0) return null;
        using var buffer = new MemoryStream();
        for (var i = 0; i < chunks; i++) buffer.Write(entity.GetBinary($"{prefix}{i:D2}"));
        buffer.Position = 0;
        using var gzip = new GZipStream(buffer, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        return reader.ReadToEnd();
    }

    public static IEnumerable<string> Columns(string prefix) =>
        Enumerable.Range(0, MaxChunks).Select(i => $"{prefix}{i:D2}").Prepend(prefix + "Chunks");
}

public sealed class OrchestrationStateTooLargeException(string message) : Exception(message);
