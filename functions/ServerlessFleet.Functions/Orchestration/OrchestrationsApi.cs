using Microsoft.Azure.Functions.Worker;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Functions.Orchestration;

/// <summary>Durable Functions' status shape; runtimeStatus keeps Durable's PascalCase names.</summary>
public sealed record OrchestrationResponse(
    string InstanceId, string Name,
    [property: JsonConverter(typeof(JsonStringEnumConverter<OrchestrationRuntimeStatus>))] OrchestrationRuntimeStatus RuntimeStatus, JsonElement? CustomStatus, JsonElement? Input,
    JsonElement? Output, FailureDetails? FailureDetails, DateTimeOffset CreatedTime, DateTimeOffset LastUpdatedTime)
{
    public static OrchestrationResponse From(OrchestrationStatus s) => new(s.InstanceId, s.Name, s.RuntimeStatus, s.CustomStatus,
        s.Input, s.Output, s.FailureDetails, s.CreatedTime, s.LastUpdatedTime);
}

public sealed record OrchestrationActionRequest(string? Reason);

/// <summary>Operator view of the tenant's running deployments and bulk operations (API.md §2 "Operations").</summary>
public static class OrchestrationsApi
{
    [Function("ListOrchestrations"), Tags("Operations"), RequireScope(Scopes.FleetRead), HandledBy(nameof(ListAsync))]
    [EndpointSummary("List orchestrations (filters: name, status (repeatable), createdAfter, createdBefore)")]
    public static Task<IResult> ListOrchestrations([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/orchestrations")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetRead), HandledBy(nameof(GetAsync))]
    [EndpointSummary("Orchestration status")]
    public static Task<IResult> GetOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/orchestrations/{instanceId}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("SuspendOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetAdmin), HandledBy(nameof(SuspendAsync))]
    [EndpointSummary("Suspend an orchestration")]
    public static Task<IResult> SuspendOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/orchestrations/{instanceId}:suspend")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ResumeOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetAdmin), HandledBy(nameof(ResumeAsync))]
    [EndpointSummary("Resume a suspended orchestration")]
    public static Task<IResult> ResumeOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/orchestrations/{instanceId}:resume")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("TerminateOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetAdmin), HandledBy(nameof(TerminateAsync))]
    [EndpointSummary("Terminate an orchestration")]
    public static Task<IResult> TerminateOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/orchestrations/{instanceId}:terminate")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("PurgeOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetAdmin), HandledBy(nameof(PurgeAsync))]
    [EndpointSummary("Purge a finished orchestration's state and history")]
    public static Task<IResult> PurgeOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/orchestrations/{instanceId}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<Ok<PagedResponse<OrchestrationResponse>>> ListAsync(HttpContext context, [AsParameters] PagingQuery paging,
        string? name, [FromQuery(Name = "status")] string[]? statuses, DateTimeOffset? createdAfter, DateTimeOffset? createdBefore,
        Caller caller, Paging pages, OrchestrationClient client, CancellationToken ct)
    {
        var parsed = new List<OrchestrationRuntimeStatus>();
        var errors = new ValidationErrors();
        foreach (var s in statuses ?? [])
        {
            if (Enum.TryParse<OrchestrationRuntimeStatus>(s, ignoreCase: true, out var status) && !int.TryParse(s, out _)) parsed.Add(status);
            else errors.Add("status", $"Unknown status '{s}'; use {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.");
        }
        errors.ThrowIfAny();
        var page = await client.ListAsync(new OrchestrationQuery(caller.TenantId, name, parsed, createdAfter, createdBefore), pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(OrchestrationResponse.From)));
    }

    private static async Task<Ok<OrchestrationResponse>> GetAsync(string instanceId, Caller caller, OrchestrationClient client, CancellationToken ct) =>
        TypedResults.Ok(OrchestrationResponse.From(await FindAsync(instanceId, caller, client, ct)));

    private static async Task<Accepted<OrchestrationResponse>> SuspendAsync(string instanceId, OrchestrationActionRequest? request, Caller caller, OrchestrationClient client, Auditor audit, CancellationToken ct)
    {
        var status = await FindAsync(instanceId, caller, client, ct);
        await client.SuspendAsync(instanceId, request?.Reason, ct);
        await audit.RecordAsync("orchestration.suspend", "orchestration", instanceId, null, new { reason = request?.Reason }, ct);
        return Accepted(status);
    }

    private static async Task<Accepted<OrchestrationResponse>> ResumeAsync(string instanceId, OrchestrationActionRequest? request, Caller caller, OrchestrationClient client, Auditor audit, CancellationToken ct)
    {
        var status = await FindAsync(instanceId, caller, client, ct);
        await client.ResumeAsync(instanceId, request?.Reason, ct);
        await audit.RecordAsync("orchestration.resume", "orchestration", instanceId, null, new { reason = request?.Reason }, ct);
        return Accepted(status);
    }

    private static async Task<Accepted<OrchestrationResponse>> TerminateAsync(string instanceId, OrchestrationActionRequest? request, Caller caller, OrchestrationClient client, Auditor audit, CancellationToken ct)
    {
        var status = await FindAsync(instanceId, caller, client, ct);
        await client.TerminateAsync(instanceId, request?.Reason ?? $"Terminated by {caller.KeyId}", ct);
        await audit.RecordAsync("orchestration.terminate", "orchestration", instanceId, null, new { reason = request?.Reason }, ct);
        return Accepted(status);
    }

    private static async Task<NoContent> PurgeAsync(string instanceId, Caller caller, OrchestrationClient client, Auditor audit, CancellationToken ct)
    {
        var status = await FindAsync(instanceId, caller, client, ct);
        await client.PurgeAsync(instanceId, ct);
        await audit.RecordAsync("orchestration.purge", "orchestration", instanceId, new { runtimeStatus = status.RuntimeStatus.ToString() }, null, ct);
        return TypedResults.NoContent();
    }

    private static Accepted<OrchestrationResponse> Accepted(OrchestrationStatus status) =>
        TypedResults.Accepted($"/api/v1/orchestrations/{status.InstanceId}", OrchestrationResponse.From(status));

    /// <summary>Another tenant's instance is reported as missing, never as forbidden.</summary>
    private static async Task<OrchestrationStatus> FindAsync(string instanceId, Caller caller, OrchestrationClient client, CancellationToken ct)
    {
        var status = await client.GetStatusAsync(instanceId, ct);
        return status is not null && status.TenantId == caller.TenantId ? status : throw FleetException.NotFound("Orchestration", instanceId);
    }
}
