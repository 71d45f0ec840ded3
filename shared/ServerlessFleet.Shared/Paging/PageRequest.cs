namespace ServerlessFleet.Shared.Paging;

/// <summary>
/// Where a list read starts: the storage continuation of the page's first item (null = the very
/// beginning) and the starts of the pages before it, so that <c>prevPage</c> can walk back.
/// </summary>
public sealed record PageRequest(int Limit, string? Start, IReadOnlyList<string?> PreviousStarts)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 500;

    public static PageRequest First(int limit) => new(limit, null, []);

    /// <summary>The page that starts after <paramref name="cursor"/>, remembering where this one started.</summary>
    public PageRequest After(string cursor) => new(Limit, cursor, [.. PreviousStarts, Start]);

    /// <summary>The page before this one, or null on the first page.</summary>
    public PageRequest? Back() => PreviousStarts.Count == 0 ? null
        : new PageRequest(Limit, PreviousStarts[^1], PreviousStarts.Take(PreviousStarts.Count - 1).ToList());
}

/// <summary>One page of a list and the cursors around it.</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Items, PageRequest? Next, PageRequest? Previous)
{
    public ListPage<TOut> Map<TOut>(Func<T, TOut> map) => new(Items.Select(map).ToList(), Next, Previous);
}
