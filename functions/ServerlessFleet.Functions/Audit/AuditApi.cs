using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Functions.Audit;

public sealed record AuditActor(string KeyId, string TenantId);

public sealed record AuditEntryResponse(string Id, DateTimeOffset Time, AuditActor Actor, string Action, string ObjectType, string ObjectId,
    IReadOnlyDictionary<string, FieldChange> Changes, string? RequestId)
{
    public static AuditEntryResponse From(AuditEntry e) =>
        new(e.Id, e.Time, new AuditActor(e.ActorKeyId, e.TenantId), e.Action, e.ObjectType, e.ObjectId, e.Changes, e.RequestId);
}

/// <summary>The audit trail: every mutation with its actor, before/after of the changed fields, and request id.</summary>
public static class AuditApi
{
    [Function("ListAuditLogs"), Tags("Audit"), RequireScope(Scopes.AuditRead), HandledBy(nameof(ListAsync))]
    [ProducesResponseType<PagedResponse<AuditEntryResponse>>(200, "application/json", "text/csv")]
    [EndpointSummary("Audit entries, newest first (filters actor, action, objectType, objectId, since, until); Accept: text/csv exports every match")]
    public static Task<IResult> ListAuditLogs([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/audit-logs")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<IResult> ListAsync(HttpContext context, [AsParameters] PagingQuery paging, string? actor, string? action,
        string? objectType, string? objectId, DateTimeOffset? since, DateTimeOffset? until, Caller caller, Paging pages, AuditLog log, CancellationToken ct)
    {
        var query = new AuditQuery(actor, action, objectType, objectId, since, until);
        if (context.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase)))
            return Results.Stream(stream => WriteCsvAsync(stream, caller.TenantId, query, log, ct), "text/csv; charset=utf-8", "audit-log.csv");
        var page = await log.ListAsync(caller.TenantId, query, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(AuditEntryResponse.From)));
    }

    /// <summary>Streams every matching entry, one storage page at a time; nothing is held in memory.</summary>
    private static async Task WriteCsvAsync(Stream stream, string tenantId, AuditQuery query, AuditLog log, CancellationToken ct)
    {
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false));
        await writer.WriteLineAsync("id,time,actorKeyId,action,objectType,objectId,requestId,changes");
        PageRequest? page = PageRequest.First(PageRequest.MaxLimit);
        while (page is not null)
        {
            var result = await log.ListAsync(tenantId, query, page, ct);
            foreach (var e in result.Items)
            {
                var fields = new[] { e.Id, e.Time.ToString("O"), e.ActorKeyId, e.Action, e.ObjectType, e.ObjectId, e.RequestId ?? "", AuditLog.SerializeChanges(e.Changes) };
                await writer.WriteLineAsync(string.Join(',', fields.Select(Csv)));
            }
            await writer.FlushAsync(ct);
            page = result.Next;
        }
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
}
