using Azure;
using Azure.Data.Tables;

namespace ServerlessFleet.Shared.Storage;

/// <summary>
/// An insert that a retry cannot turn into a conflict. The SDK retries a request that timed out; when the first attempt
/// had in fact been stored, the retry meets its own row and the service answers 409, which would read as "already
/// exists" to a caller that created nothing twice. Each insert carries a write id; a 409 whose row carries ours is the
/// insert succeeding.
/// </summary>
public static class AddOnce
{
    public const string WriteIdColumn = "WriteId";

    /// <returns>The stored row's ETag.</returns>
    /// <exception cref="RequestFailedException">409 when another insert stored the row.</exception>
    public static Task<ETag> AddOnceAsync(this TableClient table, TableEntity entity, CancellationToken ct)
    {
        var writeId = Guid.NewGuid().ToString("n");
        entity[WriteIdColumn] = writeId;
        return table.AddOnceAsync(entity, stored => stored.GetString(WriteIdColumn) == writeId, ct);
    }

    /// <param name="isThisWrite">Whether the row found on a 409 is this insert's own, by something only it can carry (a random id or secret hash).</param>
    public static async Task<ETag> AddOnceAsync<T>(this TableClient table, T entity, Func<T, bool> isThisWrite, CancellationToken ct)
        where T : class, ITableEntity, new()
    {
        try
        {
            return (await table.AddEntityAsync(entity, ct)).Headers.ETag ?? default;
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            var stored = await table.GetEntityIfExistsAsync<T>(entity.PartitionKey, entity.RowKey, cancellationToken: ct);
            if (stored is { HasValue: true, Value: { } row } && isThisWrite(row)) return row.ETag;
            throw;
        }
    }
}
