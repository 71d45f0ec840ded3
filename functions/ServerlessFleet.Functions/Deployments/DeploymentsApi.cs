using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.Deployments;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Paging;

namespace ServerlessFleet.Functions.Deployments;

/// <summary>Phased deployments (API.md §2 "Deployments"): creation with a dry run, reads, statistics, pause/resume/abort.</summary>
public static class DeploymentsApi
{
    [Function("CreateDeployment"), Tags("Deployments"), ProducesResponseType<DeploymentResponse>(StatusCodes.Status202Accepted), ProducesResponseType<DeploymentPlanResponse>(StatusCodes.Status200OK), RequireScope(Scopes.FleetDeploy), AcceptIdempotencyKey, HandledBy(nameof(CreateAsync))]
    [EndpointSummary("Deploy a release or an artifact to devices in phases; dryRun returns the plan and stores nothing; Idempotency-Key honoured")]
    public static Task<IResult> CreateDeployment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/deployments")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("ListDeployments"), Tags("Deployments"), RequireScope(Scopes.FleetRead), HandledBy(nameof(ListAsync))]
    [EndpointSummary("Deployments, oldest first; filters status, name, createdAfter, createdBefore")]
    public static Task<IResult> ListDeployments([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/deployments")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetDeployment"), Tags("Deployments"), RequireScope(Scopes.FleetRead), HandledBy(nameof(GetAsync))]
    [EndpointSummary("A deployment with its phases, statistics and orchestration progress")]
    public static Task<IResult> GetDeployment([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/deployments/{id}")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("ListDeploymentDevices"), Tags("Deployments"), RequireScope(Scopes.FleetRead), HandledBy(nameof(DevicesAsync))]
    [EndpointSummary("Per-device status, attempts and timestamps; filter status")]
    public static Task<IResult> ListDeploymentDevices([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/deployments/{id}/devices")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("GetDeploymentDeviceLog"), Tags("Deployments"), RequireScope(Scopes.FleetRead), HandledBy(nameof(LogAsync))]
    [EndpointSummary("The log a device uploaded for this deployment")]
    public static Task<IResult> GetDeploymentDeviceLog([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/deployments/{id}/devices/{serial}/log")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("PauseDeployment"), Tags("Deployments"), RequireScope(Scopes.FleetDeploy), HandledBy(nameof(ControlAsync))]
    [EndpointSummary("Release no more devices; devices already offered it carry on")]
    public static Task<IResult> PauseDeployment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/deployments/{id}:pause")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("ResumeDeployment"), Tags("Deployments"), RequireScope(Scopes.FleetDeploy), HandledBy(nameof(ControlAsync))]
    [EndpointSummary("Continue a paused deployment (after a failed success gate: go on with the next phase)")]
    public static Task<IResult> ResumeDeployment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/deployments/{id}:resume")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("AbortDeployment"), Tags("Deployments"), RequireScope(Scopes.FleetDeploy), HandledBy(nameof(ControlAsync))]
    [EndpointSummary("Abort: devices not started never start; devices in progress may finish but cannot report success")]
    public static Task<IResult> AbortDeployment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/deployments/{id}:abort")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("RollBackDeployment"), Tags("Deployments"), RequireScope(Scopes.FleetDeploy), HandledBy(nameof(RollBackAsync))]
    [EndpointSummary("Roll a finished or aborted deployment back: the release named (or the policy's rollback release) to the devices that installed it")]
    public static Task<IResult> RollBackDeployment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/deployments/{id}:rollback")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => FunctionHandlers.RunAsync(req, durable);

    [Function("GetDeploymentStatistics"), Tags("Deployments"), RequireScope(Scopes.FleetRead), HandledBy(nameof(StatisticsAsync))]
    [EndpointSummary("Statistics of up to 100 deployments by id")]
    public static Task<IResult> GetDeploymentStatistics([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/deployments/statistics")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<Results<Ok<DeploymentPlanResponse>, Accepted<DeploymentResponse>>> CreateAsync(CreateDeploymentRequest request, bool? dryRun,
        Auditor audit, DeploymentCreation creation, Orchestrations orchestrations, CancellationToken ct) =>
        await creation.CreateAsync(request, dryRun == true, audit.Actor(), orchestrations, ct) switch
        {
            DeploymentPlanned planned => TypedResults.Ok(planned.Plan),
            DeploymentCreated created => TypedResults.Accepted($"/api/v1/deployments/{created.Deployment.Id}", DeploymentResponse.From(created.Deployment, created.Statistics)),
            var other => throw new InvalidOperationException($"Unknown creation result {other}."),
        };

    private static async Task<Ok<PagedResponse<DeploymentResponse>>> ListAsync(HttpContext context, [AsParameters] PagingQuery paging, string? status, string? name,
        DateTimeOffset? createdAfter, DateTimeOffset? createdBefore, Caller caller, Paging pages, DeploymentStore store, CancellationToken ct)
    {
        if (status is not null && !DeploymentStatuses.All.Contains(status))
            throw FleetException.Validation("status", $"status is one of {string.Join(", ", DeploymentStatuses.All)}.");
        var page = await store.ListAsync(caller.TenantId, new DeploymentQuery(status, name, createdAfter, createdBefore), pages.Parse(context, paging), ct);
        var items = new List<DeploymentResponse>();
        foreach (var d in page.Items) items.Add(DeploymentResponse.From(d, await store.StatisticsAsync(d.TenantId, d.Id, d.Phases.Count, ct)));
        return TypedResults.Ok(pages.Respond(context, new ListPage<DeploymentResponse>(items, page.Next, page.Previous)));
    }

    private static async Task<Ok<DeploymentResponse>> GetAsync(string id, Caller caller, DeploymentStore store, Orchestrations orchestrations, CancellationToken ct)
    {
        var deployment = await store.GetAsync(caller.TenantId, id, ct);
        var stats = await store.StatisticsAsync(caller.TenantId, id, deployment.Phases.Count, ct);
        var status = await orchestrations.FindAsync(deployment.InstanceId, ct);
        return TypedResults.Ok(DeploymentResponse.From(deployment, stats, OrchestrationResponse.Json(status?.SerializedCustomStatus)));
    }

    private static async Task<Ok<PagedResponse<DeviceDeploymentResponse>>> DevicesAsync(string id, string? status, HttpContext context, [AsParameters] PagingQuery paging,
        Caller caller, Paging pages, DeploymentStore store, CancellationToken ct)
    {
        if (status is not null && !DeviceDeploymentStatuses.All.Contains(status))
            throw FleetException.Validation("status", $"status is one of {string.Join(", ", DeviceDeploymentStatuses.All)}.");
        await store.GetAsync(caller.TenantId, id, ct);
        var page = await store.ListRecordsAsync(caller.TenantId, id, status, pages.Parse(context, paging), ct);
        return TypedResults.Ok(pages.Respond(context, page.Map(DeviceDeploymentResponse.From)));
    }

    private static async Task<Ok<IReadOnlyList<DeploymentLogMessage>>> LogAsync(string id, string serial, Caller caller, DeploymentStore store, DeploymentLogs logs,
        CancellationToken ct)
    {
        await store.GetAsync(caller.TenantId, id, ct);
        var log = await logs.ReadAsync(caller.TenantId, id, serial, ct) ?? throw FleetException.NotFound("Deployment log", $"{id}/{serial}");
        return TypedResults.Ok(log);
    }

    /// <summary>Pause, resume or abort: 200 with the deployment after the change, or 202 when the orchestration has not applied it within the wait.</summary>
    private static async Task<Results<Ok<DeploymentResponse>, Accepted<DeploymentResponse>>> ControlAsync(string id, CustomMethod method, DeploymentControl control,
        Orchestrations orchestrations, Auditor audit, CancellationToken ct)
    {
        var (deployment, statistics, applied) = await control.SendAsync(audit.Actor(), id, method.Name, orchestrations, ct);
        var response = DeploymentResponse.From(deployment, statistics);
        return applied ? TypedResults.Ok(response) : TypedResults.Accepted($"/api/v1/deployments/{id}", response);
    }

    private static async Task<Accepted<DeploymentResponse>> RollBackAsync(string id, RollbackRequest request, Auditor audit, DeploymentCreation creation,
        Orchestrations orchestrations, CancellationToken ct)
    {
        var created = await creation.RollBackAsync(audit.Actor(), id, request, orchestrations, ct);
        return TypedResults.Accepted($"/api/v1/deployments/{created.Deployment.Id}", DeploymentResponse.From(created.Deployment, created.Statistics));
    }

    private static async Task<Ok<IReadOnlyList<DeploymentStatisticsResponse>>> StatisticsAsync(StatisticsRequest request, Caller caller, DeploymentStore store,
        CancellationToken ct)
    {
        if (request.Ids is not { Count: > 0 and <= 100 }) throw FleetException.Validation("ids", "ids lists 1 to 100 deployment ids.");
        var results = new List<DeploymentStatisticsResponse>();
        foreach (var id in request.Ids.Distinct(StringComparer.Ordinal))
        {
            if (await store.FindAsync(caller.TenantId, id, ct) is not { } deployment) continue;
            var stats = await store.StatisticsAsync(caller.TenantId, id, deployment.Phases.Count, ct);
            results.Add(new DeploymentStatisticsResponse(id, deployment.Status, stats.Overall));
        }
        return TypedResults.Ok<IReadOnlyList<DeploymentStatisticsResponse>>(results);
    }
}
