using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Storage;

/// <summary>Read-modify-write of one row under its ETag, re-read and re-applied when another writer got there first.</summary>
public static class OptimisticUpdate
{
    private const int MaxAttempts = 60;

    /// <summary>
    /// <paramref name="change"/> returns null for "nothing to do" (the current value is returned); <paramref name="known"/>
    /// saves the first read when the caller has just read the row. Null when the row does not exist.
    /// </summary>
    public static async Task<T?> RunAsync<T>(Func<Task<T?>> read, Func<T, T?> change, Func<T, T, Task<bool>> tryWrite, string what, T? known = null)
        where T : class
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var current = known ?? await read();
            known = null;
            if (current is null) return null;
            var next = change(current);
            if (next is null) return current;
            if (await tryWrite(current, next)) return next;
            // Lost a race (often on a shared counter row): back off a little, more each time, so writers spread out.
            await Task.Delay(Random.Shared.Next(0, Math.Min(10 * (attempt + 1), 250)));
        }
        // Not the caller's conflict (it sent no precondition): the row is too busy right now, so "try again".
        throw new FleetException(ErrorCategory.Unavailable, $"{what}: too many concurrent updates; retry shortly.");
    }
}
