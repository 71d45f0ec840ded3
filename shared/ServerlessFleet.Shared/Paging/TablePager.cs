using Azure.Data.Tables;

namespace ServerlessFleet.Shared.Paging;

/// <summary>
/// Reads exactly one page of a Table query, following the table's own continuation tokens until the page
/// is full (a filtered query may return short or empty segments), so the continuation handed back always
/// sits right after the last item returned.
/// </summary>
public static class TablePager
{
    public static async Task<ListPage<T>> ReadAsync<TEntity, T>(
        TableClient table, string? filter, PageRequest request, Func<TEntity, T> map,
        CancellationToken ct, IEnumerable<string>? select = null)
        where TEntity : class, ITableEntity, new()
    {
        var items = new List<T>(request.Limit);
        var continuation = request.Start;
        string? next = null;
        var selected = select?.ToList();
        while (items.Count < request.Limit)
        {
            var remaining = request.Limit - items.Count;
            var pages = table.QueryAsync<TEntity>(filter, maxPerPage: remaining, select: selected, cancellationToken: ct)
                .AsPages(continuation, remaining);
            Azure.Page<TEntity>? segment = null;
            await foreach (var p in pages.WithCancellation(ct)) { segment = p; break; }
            if (segment is null) { next = null; break; }
            items.AddRange(segment.Values.Take(remaining).Select(map));
            next = segment.ContinuationToken;
            if (next is null) break;
            continuation = next;
        }

        return new ListPage<T>(items, next is null ? null : request.After(next), request.Back());
    }
}
