using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions.Audit;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Devices;
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
    public const int MaxExplicitDevices = 10_000;

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

    [Function("GetDeploymentStatistics"), Tags("Deployments"), RequireScope(Scopes.FleetRead), HandledBy(nameof(StatisticsAsync))]
    [EndpointSummary("Statistics of up to 100 deployments by id")]
    public static Task<IResult> GetDeploymentStatistics([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/deployments/statistics")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task<IResult> CreateAsync(CreateDeploymentRequest request, bool? dryRun, Caller caller, DeviceTargets targets, ArtifactStore artifacts,
        DeploymentStore store, Orchestrations orchestrations, DeploymentRollbacks rollbacks, DeviceTimeline timeline, Auditor audit, IOptions<FleetOptions> options, TimeProvider clock,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Name is { Length: >= 1 and <= 128 } && !string.IsNullOrWhiteSpace(request.Name), "name", "name is required: 1 to 128 characters.");
        errors.Require((request.Release is not null) ^ (request.ArtifactId is not null), "release", "Give release {name, version} or artifactId, not both.");
        errors.Require(request.Release is null || (request.Release.Name is { Length: > 0 } && request.Release.Version is { Length: > 0 }), "release", "release needs name and version.");
        var target = Target(request.Target, errors);
        var policy = Policy(request.Policy, target, errors);
        if (target.Dynamic && request.Phases is { Count: > 1 }) errors.Add("phases", "A filter target is dynamic and takes a single phase.");
        errors.ThrowIfAny();

        var resolved = await ReleaseArtifacts.ResolveAsync(artifacts, caller.TenantId, request.Release?.Name, request.Release?.Version, request.ArtifactId, "Release", ct);
        // The rollback release must exist now, not only when a gate fires.
        if (policy.Rollback is { } rollbackTarget) await rollbacks.ArtifactsAsync(caller.TenantId, rollbackTarget, ct);
        var devices = request.Target!.Devices is { } listed ? await targets.ListedAsync(caller.TenantId, listed, ct)
            : target.Group is not null || target.All ? await targets.GroupAsync(caller.TenantId, target.Group, ct)
            : await targets.FilterAsync(caller.TenantId, target.Filter!, ct);
        devices = devices.OrderBy(d => d.Serial, StringComparer.Ordinal).Take(policy.MaxDevices ?? int.MaxValue).ToList();
        if (devices.Count == 0 && !target.Dynamic) throw new FleetException(ErrorCategory.Unprocessable, "The target matches no device.");
        var phases = DeploymentPlanner.Phases(request.Phases?.Select(p => new PhaseRequest(p.BatchPercent, p.BatchSize, p.StartAt, p.SoakMinutes)).ToList(),
            devices.Count, errors);
        if (target.Dynamic && devices.Count == 0) phases = [new DeploymentPhase(0, 0, request.Phases?.FirstOrDefault()?.StartAt, 0)];
        else errors.ThrowIfAny();

        var now = clock.GetUtcNow();
        var deployment = new Deployment(store.NewId(), caller.TenantId, request.Name!.Trim(), resolved, target.Kept(), phases, policy, request.ForceInstall ?? false,
            phases[0].StartAt > now ? DeploymentStatuses.Scheduled : DeploymentStatuses.Pending, now, null, caller.KeyId);
        var records = DeploymentPlanner.Records(devices, phases, deployment.ArtifactFor, now);
        if (records.Count > 0 && records.All(r => r.Status == DeviceDeploymentStatuses.NoArtifact))
            throw new FleetException(ErrorCategory.Unprocessable, $"No artifact of this deployment is compatible with any target device (device types: {string.Join(", ", devices.Select(d => d.DeviceType ?? "none").Distinct().Take(10))}).");

        if (dryRun == true || request.DryRun == true) return TypedResults.Ok(Plan(deployment, records, now));

        // The orchestration first: a saved deployment always has one (it waits for the save; see OrchestrationStarts).
        await orchestrations.StartOnceAsync(DeploymentOrchestration.Name, deployment.InstanceId,
            new DeploymentState(caller.TenantId, deployment.Id, options.Value.DeploymentCheckSeconds), ct);
        await store.CreateAsync(deployment, records, ct);
        await timeline.AppendAsync(caller.TenantId, records.Where(r => r.Status == DeviceDeploymentStatuses.NoArtifact).Select(r => r.Serial),
            TimelineDecisions.Deployment, deployment.Id, TimelineDecisions.Skipped, "incompatible: no artifact of the release for the device's type", ct);
        await audit.RecordAsync("deployment.create", "deployment", deployment.Id, null,
            new { deployment.Name, Artifacts = resolved.Select(a => a.Id), deployment.Target, deployment.Phases, deployment.Policy, deployment.ForceInstall, Devices = records.Count }, ct);
        var stats = await store.StatisticsAsync(caller.TenantId, deployment.Id, phases.Count, ct);
        return TypedResults.Accepted($"/api/v1/deployments/{deployment.Id}", DeploymentResponse.From(deployment, stats));
    }

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

    /// <summary>
    /// Pause, resume or abort: answered with the deployment after the change (200), or 202 when the orchestration has not
    /// applied it within the wait. A command that changes nothing (pausing a paused deployment) raises no event.
    /// </summary>
    private static async Task<Results<Ok<DeploymentResponse>, Accepted<DeploymentResponse>>> ControlAsync(string id, CustomMethod method, Caller caller,
        DeploymentStore store, Orchestrations orchestrations, Auditor audit, CancellationToken ct)
    {
        var command = method.Name;
        var deployment = await store.GetAsync(caller.TenantId, id, ct);
        if (!DeploymentStatuses.IsActive(deployment.Status)) throw FleetException.Conflict($"The deployment is {deployment.Status}.");
        if (command == DeploymentCommands.Resume && deployment.Status != DeploymentStatuses.Paused)
            throw FleetException.Conflict($"The deployment is {deployment.Status}, not paused.");
        var applied = true;
        if (!(command == DeploymentCommands.Pause && deployment.Status == DeploymentStatuses.Paused))
        {
            var before = deployment.Status;
            (deployment, applied) = await orchestrations.CommandAsync(deployment.InstanceId, DeploymentOrchestration.ControlEvent, command,
                t => store.GetAsync(caller.TenantId, id, t), d => Applied(command, d.Status), ct);
            await audit.RecordAsync($"deployment.{command}", "deployment", id, new { Status = before }, new { command }, ct);
        }
        var response = DeploymentResponse.From(deployment, await store.StatisticsAsync(caller.TenantId, id, deployment.Phases.Count, ct));
        return applied ? TypedResults.Ok(response) : TypedResults.Accepted($"/api/v1/deployments/{id}", response);
    }

    private static bool Applied(string command, string status) => command switch
    {
        DeploymentCommands.Pause => status != DeploymentStatuses.InProgress && status != DeploymentStatuses.Pending && status != DeploymentStatuses.Scheduled,
        DeploymentCommands.Resume => status != DeploymentStatuses.Paused,
        _ => !DeploymentStatuses.IsActive(status),
    };

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

    private static DeploymentTarget Target(DeploymentTargetRequest? target, ValidationErrors errors)
    {
        var kinds = target is null ? 0 : new[] { target.Devices is not null, target.Group is not null, target.Filter is not null, target.All == true }.Count(k => k);
        errors.Require(kinds == 1, "target", "target is exactly one of devices, group, filter or all: true.");
        errors.Require(target?.Devices is null || target.Devices.Count is > 0 and <= MaxExplicitDevices, "target.devices", $"devices lists 1 to {MaxExplicitDevices} serials.");
        errors.Require(target?.Filter is null || target.Filter.Count > 0, "target.filter", "filter needs at least one condition (device list query parameters).");
        return new DeploymentTarget(target?.Devices, target?.Group, target?.Filter, target?.All == true);
    }

    private static DeploymentPolicy Policy(DeploymentPolicyRequest? policy, DeploymentTarget target, ValidationErrors errors)
    {
        errors.Require(policy?.Retries is null or (>= 0 and <= 10), "policy.retries", "retries is 0 to 10.");
        errors.Require(policy?.DeviceTimeoutMinutes is null or (>= 0.05 and <= 43_200), "policy.deviceTimeoutMinutes", "deviceTimeoutMinutes is 0.05 to 43200.");
        errors.Require(policy?.MaxDevices is null or (>= 1 and <= DeviceTargets.MaxTargetDevices), "policy.maxDevices", $"maxDevices is 1 to {DeviceTargets.MaxTargetDevices}.");
        errors.Require(policy?.MaxDevices is null || target.Dynamic, "policy.maxDevices", "maxDevices applies to a filter (dynamic) target.");
        errors.Require(policy?.SuccessThresholdPercent is null or (> 0 and <= 100), "policy.successThresholdPercent", "successThresholdPercent is more than 0 and at most 100.");
        FailureThreshold? threshold = null;
        if (policy?.FailureThreshold is { } f)
        {
            errors.Require(f.Percent is > 0 and <= 100, "policy.failureThreshold.percent", "percent is more than 0 and at most 100.");
            errors.Require(f.MinDevices is null or (>= 1 and <= 1_000_000), "policy.failureThreshold.minDevices", "minDevices is at least 1.");
            errors.Require(f.Action is null or FailureThreshold.Pause or FailureThreshold.Abort, "policy.failureThreshold.action", "action is pause or abort.");
            threshold = new FailureThreshold(f.Percent ?? 100, f.MinDevices ?? 1, f.Action ?? FailureThreshold.Pause);
        }
        return new DeploymentPolicy(policy?.Retries ?? 0, policy?.DeviceTimeoutMinutes, policy?.MaxDevices, threshold, policy?.SuccessThresholdPercent,
            HealthGate(policy?.HealthGate, target, errors), Rollback(policy?.Rollback, errors));
    }

    private static HealthGate? HealthGate(HealthGateRequest? gate, DeploymentTarget target, ValidationErrors errors)
    {
        if (gate is null) return null;
        const string at = "policy.healthGate";
        errors.Require(gate.Metric is { } m && ServerlessFleet.Shared.Telemetry.TelemetryRules.IsSingleValued(m), $"{at}.metric",
            "metric is a telemetry type with one value: battery, temperature, uptime, wifi-strength or metric.<name>.");
        errors.Require(gate.Op is { } op && Shared.Deployments.HealthGate.Ops.Contains(op), $"{at}.op", "op is >, <, >= or <=.");
        errors.Require(gate.Threshold is { } t && double.IsFinite(t), $"{at}.threshold", "threshold is a number.");
        errors.Require(gate.WindowMinutes is >= 0.05 and <= 1440, $"{at}.windowMinutes", "windowMinutes is 0.05 to 1440.");
        errors.Require(gate.MaxViolatingPercent is null or (>= 0 and <= 100), $"{at}.maxViolatingPercent", "maxViolatingPercent is 0 to 100.");
        errors.Require(gate.MinDevices is null or (>= 1 and <= 1_000_000), $"{at}.minDevices", "minDevices is at least 1.");
        errors.Require(gate.RegressionPercent is null or (>= 0 and <= 10_000), $"{at}.regressionPercent", "regressionPercent is 0 or more.");
        errors.Require(gate.Action is null or FailureThreshold.Pause or FailureThreshold.Abort, $"{at}.action", "action is pause or abort.");
        errors.Require(!target.Dynamic, at, "A health gate needs a fixed target (devices, group or all).");
        return errors.HasErrors ? null : new HealthGate(gate.Metric!, gate.Op!, gate.Threshold!.Value, gate.WindowMinutes!.Value, gate.MaxViolatingPercent ?? 0,
            gate.MinDevices ?? 1, gate.RegressionPercent, gate.Action ?? FailureThreshold.Pause);
    }

    private static RollbackTarget? Rollback(RollbackRequest? rollback, ValidationErrors errors)
    {
        if (rollback is null) return null;
        errors.Require((rollback.Release is not null) ^ (rollback.ArtifactId is not null), "policy.rollback", "rollback is release {name, version} or artifactId.");
        errors.Require(rollback.Release is null || (rollback.Release.Name is { Length: > 0 } && rollback.Release.Version is { Length: > 0 }), "policy.rollback.release",
            "release needs name and version.");
        return new RollbackTarget(rollback.Release?.Name, rollback.Release?.Version, rollback.ArtifactId);
    }

    private static DeploymentPlanResponse Plan(Deployment deployment, IReadOnlyList<DeviceDeployment> records, DateTimeOffset now)
    {
        var starts = DeploymentPlanner.EarliestStarts(deployment.Phases, now);
        var phases = deployment.Phases.Select(p => new PlannedPhase(p.Index, p.Size, starts[p.Index], p.SoakMinutes,
            records.Where(r => r.Phase == p.Index && r.Status == DeviceDeploymentStatuses.Pending).Select(r => r.Serial).ToList())).ToList();
        return new DeploymentPlanResponse(deployment.Name, deployment.Artifacts, records.Count, phases,
            records.Where(r => r.Status == DeviceDeploymentStatuses.NoArtifact).Select(r => r.Serial).ToList(), deployment.Policy, deployment.Target.Dynamic, deployment.ForceInstall);
    }
}
