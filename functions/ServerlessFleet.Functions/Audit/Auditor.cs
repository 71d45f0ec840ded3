using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Shared.Audit;

namespace ServerlessFleet.Functions.Audit;

/// <summary>Records a mutation in the audit log with the caller and request id of the current request.</summary>
public sealed class Auditor(AuditLog log, IHttpContextAccessor accessor)
{
    /// <summary>The caller of the current request, as use cases in shared/ record it.</summary>
    public Actor Actor()
    {
        var context = accessor.HttpContext ?? throw new InvalidOperationException("Auditing needs a request.");
        return new Actor(Caller.From(context).Principal, RequestId.Get(context));
    }

    public Task RecordAsync(string action, string objectType, string objectId, object? before, object? after, CancellationToken ct) =>
        log.RecordAsync(Actor(), action, objectType, objectId, before, after, ct);
}
