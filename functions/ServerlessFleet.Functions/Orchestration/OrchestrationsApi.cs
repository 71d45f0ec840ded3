using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Actions;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Functions.Orchestration;

public enum OrchestrationRuntimeStatus { Pending, Running, Suspended, Completed, Failed, Terminated }

public sealed record FailureDetails(string ErrorType, string ErrorMessage);

/// <summary>Durable Functions' status shape; runtimeStatus keeps Durable's PascalCase names.</summary>
public sealed record OrchestrationResponse(
    string InstanceId, string Name,
    [property: JsonConverter(typeof(JsonStringEnumConverter<OrchestrationRuntimeStatus>))] OrchestrationRuntimeStatus RuntimeStatus, JsonElement? CustomStatus, JsonElement? Input,
    JsonElement? Output, FailureDetails? FailureDetails, DateTimeOffset CreatedTime, DateTimeOffset LastUpdatedTime)
{
    public static OrchestrationResponse From(OrchestrationMetadata m) => new(m.InstanceId, m.Name, Status(m.RuntimeStatus),
        Json(m.SerializedCustomStatus), Json(m.SerializedInput), Json(m.SerializedOutput),
        m.FailureDetails is { } f ? new FailureDetails(f.ErrorType, f.ErrorMessage) : null, m.CreatedAt, m.LastUpdatedAt);

    /// <summary>The engine's statuses in the contract's six: a generation that continued as new is still running.</summary>
    public static OrchestrationRuntimeStatus Status(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus status) => status switch
    {
        Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Pending => OrchestrationRuntimeStatus.Pending,
        Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Suspended => OrchestrationRuntimeStatus.Suspended,
        Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed => OrchestrationRuntimeStatus.Completed,
        Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Failed => OrchestrationRuntimeStatus.Failed,
        Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Terminated => OrchestrationRuntimeStatus.Terminated,
        _ => OrchestrationRuntimeStatus.Running,
    };

    public static Microsoft.DurableTask.Client.OrchestrationRuntimeStatus EngineStatus(OrchestrationRuntimeStatus status) =>
        Enum.Parse<Microsoft.DurableTask.Client.OrchestrationRuntimeStatus>(status.ToString());

    public static JsonElement? Json(string? serialized)
    {
        if (string.IsNullOrEmpty(serialized)) return null;
        using var document = JsonDocument.Parse(serialized);
        return document.RootElement.Clone();
    }

    public bool IsFinal => RuntimeStatus is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;
}

public sealed record OrchestrationActionRequest(string? Reason);

/// <summary>Operator view of the tenant's running deployments and bulk operations (API.md §2 "Operations").</summary>
public static class OrchestrationsApi
{
    [Function("ListOrchestrations"), Tags("Operations"), RequireScope(Scopes.FleetRead), HandledBy(nameof(ListAsync))]
    [EndpointSummary("List orchestrations (filters: name, status (repeatable), createdAfter, createdBefore)")]
    public static Task<IResult> ListOrchestrations([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/orchestrations")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("GetOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetRead), HandledBy(nameof(GetAsync))]
    [EndpointSummary("Orchestration status")]
    public static Task<IResult> GetOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/orchestrations/{instanceId}")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("SuspendOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetAdmin), HandledBy(nameof(SuspendAsync))]
    [EndpointSummary("Suspend an orchestration")]
    public static Task<IResult> SuspendOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/orchestrations/{instanceId}:suspend")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("ResumeOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetAdmin), HandledBy(nameof(ResumeAsync))]
    [EndpointSummary("Resume a suspended orchestration")]
    public static Task<IResult> ResumeOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/orchestrations/{instanceId}:resume")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("TerminateOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetAdmin), HandledBy(nameof(TerminateAsync))]
    [EndpointSummary("Terminate an orchestration")]
    public static Task<IResult> TerminateOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/orchestrations/{instanceId}:terminate")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("PurgeOrchestration"), Tags("Operations"), RequireScope(Scopes.FleetAdmin), HandledBy(nameof(PurgeAsync))]
    [EndpointSummary("Purge a finished orchestration's state and history")]
    public static Task<IResult> PurgeOrchestration([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/orchestrations/{instanceId}")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    private static async Task<Ok<PagedResponse<OrchestrationResponse>>> ListAsync(HttpContext context, [AsParameters] PagingQuery paging,
        string? name, [FromQuery(Name = "status")] string[]? statuses, DateTimeOffset? createdAfter, DateTimeOffset? createdBefore,
        Caller caller, Paging pages, Orchestrations orchestrations, CancellationToken ct)
    {
        var parsed = new List<OrchestrationRuntimeStatus>();
        var errors = new ValidationErrors();
        foreach (var s in statuses ?? [])
        {
            if (Enum.TryParse<OrchestrationRuntimeStatus>(s, ignoreCase: true, out var status) && !int.TryParse(s, out _)) parsed.Add(status);
            else errors.Add("status", $"Unknown status '{s}'; use {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.");
        }
        errors.ThrowIfAny();
        var request = pages.Parse(context, paging);
        // The tenant is the instance-id prefix: the task hub answers with this tenant's instances only.
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = OrchestrationIds.TenantPrefix(caller.TenantId),
            Statuses = parsed.Count > 0 ? parsed.Select(OrchestrationResponse.EngineStatus).ToList() : null,
            CreatedFrom = createdAfter,
            CreatedTo = createdBefore,
            PageSize = request.Limit,
            ContinuationToken = request.Start,
            FetchInputsAndOutputs = true,
        };
        await foreach (var page in orchestrations.Client.GetAllInstancesAsync(query).AsPages(request.Start, request.Limit).WithCancellation(ct))
        {
            var items = page.Values.Where(m => name is null || string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
                .Select(OrchestrationResponse.From).ToList();
            var next = string.IsNullOrEmpty(page.ContinuationToken) ? null : request.After(page.ContinuationToken);
            return TypedResults.Ok(pages.Respond(context, new ListPage<OrchestrationResponse>(items, next, request.Back())));
        }
        return TypedResults.Ok(pages.Respond(context, new ListPage<OrchestrationResponse>([], null, request.Back())));
    }

    private static async Task<Ok<OrchestrationResponse>> GetAsync(string instanceId, Caller caller, Orchestrations orchestrations, CancellationToken ct) =>
        TypedResults.Ok(await FindAsync(instanceId, caller, orchestrations, ct));

    private static async Task<Accepted<OrchestrationResponse>> SuspendAsync(string instanceId, OrchestrationActionRequest? request, Caller caller, Orchestrations orchestrations, Auditor audit, CancellationToken ct)
    {
        var status = await FindAsync(instanceId, caller, orchestrations, ct);
        if (status.IsFinal) throw FleetException.Conflict($"The orchestration is {status.RuntimeStatus}.");
        await orchestrations.Client.SuspendInstanceAsync(instanceId, request?.Reason, ct);
        await audit.RecordAsync("orchestration.suspend", "orchestration", instanceId, null, new { reason = request?.Reason }, ct);
        return Accepted(status);
    }

    private static async Task<Accepted<OrchestrationResponse>> ResumeAsync(string instanceId, OrchestrationActionRequest? request, Caller caller, Orchestrations orchestrations, Auditor audit, CancellationToken ct)
    {
        var status = await FindAsync(instanceId, caller, orchestrations, ct);
        if (status.RuntimeStatus != OrchestrationRuntimeStatus.Suspended) throw FleetException.Conflict($"The orchestration is {status.RuntimeStatus}, not Suspended.");
        await orchestrations.Client.ResumeInstanceAsync(instanceId, request?.Reason, ct);
        await audit.RecordAsync("orchestration.resume", "orchestration", instanceId, null, new { reason = request?.Reason }, ct);
        return Accepted(status);
    }

    /// <summary>
    /// Terminating the orchestration of a deployment or action that is still active would leave it in progress with its
    /// devices waiting forever: that is refused, naming the operation's own route, which ends the devices too.
    /// </summary>
    private static async Task<Accepted<OrchestrationResponse>> TerminateAsync(string instanceId, OrchestrationActionRequest? request, Caller caller,
        Orchestrations orchestrations, DeploymentStore deployments, ActionStore actions, Auditor audit, CancellationToken ct)
    {
        var status = await FindAsync(instanceId, caller, orchestrations, ct);
        if (status.IsFinal) throw FleetException.Conflict($"The orchestration is {status.RuntimeStatus}.");
        switch (OrchestrationIds.Operation(instanceId))
        {
            case ("deployment", var id) when await deployments.FindAsync(caller.TenantId, id, ct) is { } d && DeploymentStatuses.IsActive(d.Status):
                throw FleetException.Conflict($"This orchestration drives deployment {id}, which is {d.Status}; abort it with POST /api/v1/deployments/{id}:abort.");
            case ("action", var id) when await actions.FindAsync(caller.TenantId, id, ct) is { } a && !ActionStatuses.IsFinal(a.Status):
                throw FleetException.Conflict($"This orchestration drives action {id}, which is {a.Status}; cancel it with POST /api/v1/actions/{id}:cancel.");
        }
        await orchestrations.Client.TerminateInstanceAsync(instanceId, new TerminateInstanceOptions { Output = request?.Reason ?? $"Terminated by {caller.KeyId}" }, ct);
        await audit.RecordAsync("orchestration.terminate", "orchestration", instanceId, null, new { reason = request?.Reason }, ct);
        return Accepted(status);
    }

    /// <summary>Only a finished orchestration is purged: its deployment or action is final by then.</summary>
    private static async Task<NoContent> PurgeAsync(string instanceId, Caller caller, Orchestrations orchestrations, Auditor audit, CancellationToken ct)
    {
        var status = await FindAsync(instanceId, caller, orchestrations, ct);
        if (!status.IsFinal) throw FleetException.Conflict($"The orchestration is {status.RuntimeStatus}; only a finished orchestration is purged.");
        await orchestrations.Client.PurgeInstanceAsync(instanceId, cancellation: ct);
        await audit.RecordAsync("orchestration.purge", "orchestration", instanceId, new { runtimeStatus = status.RuntimeStatus.ToString() }, null, ct);
        return TypedResults.NoContent();
    }

    private static Accepted<OrchestrationResponse> Accepted(OrchestrationResponse status) =>
        TypedResults.Accepted($"/api/v1/orchestrations/{status.InstanceId}", status);

    /// <summary>Another tenant's instance is reported as missing, never as forbidden.</summary>
    private static async Task<OrchestrationResponse> FindAsync(string instanceId, Caller caller, Orchestrations orchestrations, CancellationToken ct)
    {
        if (!OrchestrationIds.BelongsTo(instanceId, caller.TenantId)) throw FleetException.NotFound("Orchestration", instanceId);
        var status = await orchestrations.FindAsync(instanceId, ct);
        return status is not null ? OrchestrationResponse.From(status) : throw FleetException.NotFound("Orchestration", instanceId);
    }
}
