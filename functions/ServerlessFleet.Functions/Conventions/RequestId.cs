namespace ServerlessFleet.Functions.Conventions;

/// <summary>The request's id as the request-id middleware settled it, for error bodies, audit entries and log scopes.</summary>
public static class RequestId
{
    public const string Header = "X-Request-Id";
    private const string ItemKey = "fleet.requestId";

    public static void Set(HttpContext context, string id) => context.Items[ItemKey] = id;

    public static string Get(HttpContext context) =>
        context.Items.TryGetValue(ItemKey, out var id) && id is string s ? s : context.TraceIdentifier;
}
