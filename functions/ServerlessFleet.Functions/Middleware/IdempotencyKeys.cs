using ServerlessFleet.Functions.Conventions;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Idempotency;

namespace ServerlessFleet.Functions.Middleware;

/// <summary>
/// <c>Idempotency-Key</c> (API.md §1): a repeat with the same key and body gets the original response again
/// (status, body, Location, ETag) without running the handler; the same key with another body is 409; a repeat
/// while the first is still running is 409 too. Keys are per tenant and route, kept for 24 hours. Only successful
/// responses are kept, so a failed request can be retried with its key. Responses that carry secrets (new API
/// keys, new tenants) are not offered this: a replay store must never hold a secret.
/// </summary>
public sealed class IdempotencyKeys(FunctionCatalog catalog) : HttpFunctionMiddleware
{
    public const string Header = "Idempotency-Key";
    private const int MaxStoredBody = 30_000;

    protected override async Task InvokeAsync(FunctionContext function, HttpContext context, FunctionExecutionDelegate next)
    {
        var key = context.Request.Headers[Header].ToString();
        var descriptor = catalog.Get(function.FunctionDefinition.Name);
        if (key.Length == 0 || !descriptor.Idempotent)
        {
            await next(function);
            return;
        }
        var store = context.RequestServices.GetRequiredService<IdempotencyStore>();
        if (key.Length > 128 || key.Any(char.IsControl)) throw FleetException.Validation(Header, "Idempotency-Key is 1-128 printable characters.");

        context.Request.EnableBuffering();
        var bodyHash = Convert.ToHexStringLower(await SHA256.HashDataAsync(context.Request.Body, context.RequestAborted));
        context.Request.Body.Position = 0;
        var tenantId = Caller.From(context).TenantId;
        var rowKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{context.Request.Method} {context.Request.Path}\n{key}")));

        var (claim, stored) = await store.ClaimAsync(tenantId, rowKey, bodyHash, context.RequestAborted);
        switch (claim)
        {
            case IdempotencyClaim.Mismatch:
                throw FleetException.Conflict("This Idempotency-Key was used with a different request body.");
            case IdempotencyClaim.InProgress:
                throw FleetException.Conflict("A request with this Idempotency-Key is still being processed.");
            case IdempotencyClaim.Replay when descriptor.ReplayThroughHandler:
                context.Features.Set(new IdempotentReplay(stored!));
                context.Response.Headers["Idempotent-Replayed"] = "true";
                await next(function);
                return;
            case IdempotencyClaim.Replay:
                await ReplayAsync(context, stored!);
                Responded(function);
                return;
        }
        var record = new IdempotentRecord();
        context.Features.Set(record);

        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(function);
        }
        catch
        {
            await store.ReleaseAsync(tenantId, rowKey, CancellationToken.None);
            throw;
        }
        finally
        {
            context.Response.Body = original;
        }

        // A handler whose response holds a signed link stores a record of it without the link.
        var body = record.Body ?? Encoding.UTF8.GetString(buffer.ToArray());
        if (context.Response.StatusCode is >= 200 and < 300 && body.Length <= MaxStoredBody)
            await store.CompleteAsync(tenantId, rowKey, new StoredResponse(context.Response.StatusCode, context.Response.ContentType,
                context.Response.Headers.Location.ToString() is { Length: > 0 } l ? l : null,
                context.Response.Headers.ETag.ToString() is { Length: > 0 } e ? e : null, body), CancellationToken.None);
        else
            await store.ReleaseAsync(tenantId, rowKey, CancellationToken.None);
        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    private static async Task ReplayAsync(HttpContext context, StoredResponse stored)
    {
        context.Response.StatusCode = stored.StatusCode;
        if (stored.ContentType is not null) context.Response.ContentType = stored.ContentType;
        if (stored.Location is not null) context.Response.Headers.Location = stored.Location;
        if (stored.ETag is not null) context.Response.Headers.ETag = stored.ETag;
        context.Response.Headers["Idempotent-Replayed"] = "true";
        await context.Response.WriteAsync(stored.Body, context.RequestAborted);
    }
}
