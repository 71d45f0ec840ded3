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
    public static IEndpointRouteBuilder MapOrchestrationsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/orchestrations").WithTags("Operations");
        group.MapGet("", ListAsync).WithName("ListOrchestrations")
            .WithSummary("List orchestrations (filters: name, status (repeatable), createdAfter, createdBefore)").RequireScope(Scopes.FleetRead);
        group.MapGet("/{instanceId}", GetAsync).WithName("GetOrchestration").WithSummary("Orchestration status").RequireScope(Scopes.FleetRead);
        group.MapPost("/{instanceId}:suspend", SuspendAsync).WithName("SuspendOrchestration").WithSummary("Suspend an orchestration").RequireScope(Scopes.FleetAdmin);
        group.MapPost("/{instanceId}:resume", ResumeAsync).WithName("ResumeOrchestration").WithSummary("Resume a suspended orchestration").RequireScope(Scopes.FleetAdmin);
        group.MapPost("/{instanceId}:terminate", TerminateAsync).WithName("TerminateOrchestration").WithSummary("Terminate an orchestration").RequireScope(Scopes.FleetAdmin);
        group.MapDelete("/{instanceId}", PurgeAsync).WithName("PurgeOrchestration").WithSummary("Purge a finished orchestration's state and history").RequireScope(Scopes.FleetAdmin);
        return app;
    }

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
