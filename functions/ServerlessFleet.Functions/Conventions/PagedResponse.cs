using Microsoft.AspNetCore.Http.Extensions;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>The list envelope of API.md §1.</summary>
public sealed record PagedResponse<T>(IReadOnlyList<T> Data, string? NextPage, string? PrevPage);

/// <summary>The paging query parameters every list accepts.</summary>
public sealed record PagingQuery(int? Limit, string? After, string? Before);

/// <summary>Turns query parameters into a page request and a page into the envelope plus a <c>Link</c> header.</summary>
public sealed class Paging(PageRequestParser parser)
{
    public PageRequest Parse(HttpContext context, PagingQuery query, int maxLimit = PageRequest.MaxLimit) =>
        parser.Parse(query.Limit, query.After, query.Before, Signature(context), maxLimit);

    public PagedResponse<T> Respond<T>(HttpContext context, ListPage<T> page)
    {
        var (next, previous) = parser.Tokens(page, Signature(context));
        var links = new List<string>();
        if (next is not null) links.Add($"<{Link(context, "after", next)}>; rel=\"next\"");
        if (previous is not null) links.Add($"<{Link(context, "before", previous)}>; rel=\"prev\"");
        if (links.Count > 0) context.Response.Headers.Link = string.Join(", ", links);
        return new PagedResponse<T>(page.Items, next, previous);
    }

    /// <summary>The route and every query parameter except paging ones: a token only works for the list it came from.</summary>
    private static string Signature(HttpContext context)
    {
        var filters = context.Request.Query
            .Where(q => q.Key is not ("limit" or "after" or "before"))
            .OrderBy(q => q.Key, StringComparer.Ordinal)
            .Select(q => q.Key + "=" + string.Join(",", q.Value.ToArray()));
        return context.Request.Path + "?" + string.Join("&", filters);
    }

    private static string Link(HttpContext context, string parameter, string token)
    {
        var query = new QueryBuilder(context.Request.Query
            .Where(q => q.Key is not ("after" or "before" or "limit"))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? ""))))
        {
            { parameter, token },
        };
        return context.Request.PathBase + context.Request.Path + query.ToQueryString();
    }
}
