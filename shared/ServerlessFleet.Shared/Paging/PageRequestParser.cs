using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Paging;

/// <summary>Reads <c>limit</c>/<c>after</c>/<c>before</c> into a <see cref="PageRequest"/>; the token's own limit wins.</summary>
public sealed class PageRequestParser(PageTokenCodec codec)
{
    public PageRequest Parse(int? limit, string? after, string? before, string querySignature, int maxLimit = PageRequest.MaxLimit)
    {
        if (limit is not null && (limit < 1 || limit > maxLimit))
            throw FleetException.Validation("limit", $"limit must be between 1 and {maxLimit}.");
        if (!string.IsNullOrEmpty(after) && !string.IsNullOrEmpty(before))
            throw FleetException.Validation("before", "Use either after or before, not both.");
        if (!string.IsNullOrEmpty(after)) return codec.Decode(after, PageDirection.Next, querySignature);
        if (!string.IsNullOrEmpty(before)) return codec.Decode(before, PageDirection.Previous, querySignature);
        return PageRequest.First(limit ?? Math.Min(PageRequest.DefaultLimit, maxLimit));
    }

    public (string? Next, string? Previous) Tokens<T>(ListPage<T> page, string querySignature) =>
        (page.Next is null ? null : codec.Encode(page.Next, PageDirection.Next, querySignature),
         page.Previous is null ? null : codec.Encode(page.Previous, PageDirection.Previous, querySignature));
}
