using Microsoft.Extensions.Options;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Orchestration;

namespace ServerlessFleet.Shared.Deployments;

public sealed record PlannedPhase(int Index, int Size, DateTimeOffset EarliestStart, double SoakMinutes, IReadOnlyList<string> Devices);

/// <summary>A dry run: what the deployment would do, device by device, with nothing stored.</summary>
public sealed record DeploymentPlanResponse(string Name, IReadOnlyList<DeploymentArtifact> Artifacts, int DeviceCount, IReadOnlyList<PlannedPhase> Phases,
    IReadOnlyList<string> NoArtifact, DeploymentPolicy Policy, bool Dynamic, bool ForceInstall);

public abstract record DeploymentCreationResult;
public sealed record DeploymentCreated(Deployment Deployment, DeploymentStatistics Statistics) : DeploymentCreationResult;
public sealed record DeploymentPlanned(DeploymentPlanResponse Plan) : DeploymentCreationResult;

/// <summary>
/// The one place a deployment is made, whoever asks: an operator's request (or its dry run), or the automatic rollback
/// of a deployment a gate or threshold aborted. A deployment is saved only after its orchestration was started, so no
/// saved deployment is ever without one (the orchestration waits for the save; see the orchestrations' start rules).
/// </summary>
public sealed class DeploymentCreation(DeploymentStore store, ArtifactStore artifacts, DeviceTargets targets, DeviceTimeline timeline, AuditLog audit,
    IOptions<FleetOptions> options, TimeProvider clock)
{
    public const int MaxExplicitDevices = 10_000;
    public const string RollbackCreator = "rollback";

    public static string RollbackId(string deploymentId) => deploymentId + "r";

    public async Task<DeploymentCreationResult> CreateAsync(CreateDeploymentRequest request, bool dryRun, Actor actor, IOrchestrationStarter orchestrations,
        CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Name is { Length: >= 1 and <= 128 } && !string.IsNullOrWhiteSpace(request.Name), "name", "name is required: 1 to 128 characters.");
        errors.Require((request.Release is not null) ^ (request.ArtifactId is not null), "release", "Give release {name, version} or artifactId, not both.");
        errors.Require(request.Release is null || (request.Release.Name is { Length: > 0 } && request.Release.Version is { Length: > 0 }), "release", "release needs name and version.");
        var target = DeploymentRequestRules.Target(request.Target, errors);
        var policy = DeploymentRequestRules.Policy(request.Policy, target, errors);
        if (target.Dynamic && request.Phases is { Count: > 1 }) errors.Add("phases", "A filter target is dynamic and takes a single phase.");
        errors.ThrowIfAny();

        var tenantId = actor.TenantId;
        var resolved = await ReleaseArtifacts.ResolveAsync(artifacts, tenantId, request.Release?.Name, request.Release?.Version, request.ArtifactId, "Release", ct);
        // The rollback release must exist now, not only when a gate fires.
        if (policy.Rollback is { } rollbackTarget) await RollbackArtifactsAsync(tenantId, rollbackTarget, ct);
        var devices = (await TargetDevicesAsync(tenantId, target, ct)).OrderBy(d => d.Serial, StringComparer.Ordinal).Take(policy.MaxDevices ?? int.MaxValue).ToList();
        if (devices.Count == 0 && !target.Dynamic) throw new FleetException(ErrorCategory.Unprocessable, "The target matches no device.");
        var phases = DeploymentPlanner.Phases(request.Phases?.Select(p => new PhaseRequest(p.BatchPercent, p.BatchSize, p.StartAt, p.SoakMinutes)).ToList(),
            devices.Count, errors);
        if (target.Dynamic && devices.Count == 0) phases = [new DeploymentPhase(0, 0, request.Phases?.FirstOrDefault()?.StartAt, 0)];
        else errors.ThrowIfAny();

        var now = clock.GetUtcNow();
        var deployment = new Deployment(store.NewId(), tenantId, request.Name!.Trim(), resolved, target.Kept(), phases, policy, request.ForceInstall ?? false,
            phases[0].StartAt > now ? DeploymentStatuses.Scheduled : DeploymentStatuses.Pending, now, null, actor.KeyId);
        var records = DeploymentPlanner.Records(devices, phases, deployment.ArtifactFor, now);
        if (records.Count > 0 && records.All(r => r.Status == DeviceDeploymentStatuses.NoArtifact))
            throw new FleetException(ErrorCategory.Unprocessable, $"No artifact of this deployment is compatible with any target device (device types: {string.Join(", ", devices.Select(d => d.DeviceType ?? "none").Distinct().Take(10))}).");

        if (dryRun || request.DryRun == true) return new DeploymentPlanned(Plan(deployment, records, now));

        await SaveAsync(deployment, records, orchestrations, ct);
        await audit.RecordAsync(actor, "deployment.create", "deployment", deployment.Id, null,
            new { deployment.Name, Artifacts = resolved.Select(a => a.Id), deployment.Target, deployment.Phases, deployment.Policy, deployment.ForceInstall, Devices = records.Count }, ct);
        return new DeploymentCreated(deployment, await store.StatisticsAsync(tenantId, deployment.Id, phases.Count, ct));
    }

    /// <summary>
    /// The automatic rollback of a deployment a gate or threshold aborted: a linked deployment of the policy's rollback
    /// release to exactly the devices that reported <c>success</c> for the aborted one. Its id derives from the aborted
    /// deployment's, so a repeat (an activity retried) finds the same deployment and orchestration. Null when the policy
    /// has no rollback or no device installed the release.
    /// </summary>
    /// <param name="release">The release to roll back to; the policy's rollback release when null.</param>
    public async Task<string?> RollBackAsync(string tenantId, string deploymentId, IOrchestrationStarter orchestrations, CancellationToken ct,
        RollbackTarget? release = null)
    {
        var original = await store.GetAsync(tenantId, deploymentId, ct);
        if ((release ?? original.Policy.Rollback) is not { } target) return null;
        var id = RollbackId(original.Id);
        var installed = (await store.RecordsAsync(tenantId, deploymentId, $"Status eq '{DeviceDeploymentStatuses.Success}'", ct)).Select(r => r.Serial).ToList();
        if (installed.Count == 0) return null;

        if (await store.FindAsync(tenantId, id, ct) is null)
        {
            var devices = await targets.ListedAsync(tenantId, installed, ct);
            var errors = new ValidationErrors();
            var phases = DeploymentPlanner.Phases(null, devices.Count, errors);
            errors.ThrowIfAny();
            var now = clock.GetUtcNow();
            var deployment = new Deployment(id, tenantId, $"rollback of {original.Name}"[..Math.Min(128, original.Name.Length + 12)], await RollbackArtifactsAsync(tenantId, target, ct),
                new DeploymentTarget(installed, null, null, false).Kept(), phases,
                new DeploymentPolicy(original.Policy.Retries, original.Policy.DeviceTimeoutMinutes, null, null, null),
                ForceInstall: true, DeploymentStatuses.Pending, now, null, RollbackCreator, RollbackOf: original.Id);
            await SaveAsync(deployment, DeploymentPlanner.Records(devices, phases, deployment.ArtifactFor, now), orchestrations, ct);
        }
        await store.SetRolledBackByAsync(tenantId, original.Id, id, ct);
        return id;
    }

    /// <summary>
    /// An operator rolling back a finished or aborted deployment: the release named (or the policy's rollback release)
    /// to exactly the devices that installed it, linked as the automatic rollback is. A repeat answers with the same rollback.
    /// </summary>
    public async Task<DeploymentCreated> RollBackAsync(Actor actor, string deploymentId, RollbackRequest? request, IOrchestrationStarter orchestrations, CancellationToken ct)
    {
        var original = await store.GetAsync(actor.TenantId, deploymentId, ct);
        if (DeploymentStatuses.IsActive(original.Status)) throw FleetException.Conflict($"The deployment is {original.Status}; abort it before rolling it back.");
        var named = request is { Release: not null } or { ArtifactId: not null } ? new RollbackTarget(request.Release?.Name, request.Release?.Version, request.ArtifactId) : null;
        if ((named ?? original.Policy.Rollback) is null)
            throw FleetException.Validation("release", "Name the release to roll back to (release {name, version} or artifactId): the deployment's policy names none.");
        var id = await RollBackAsync(actor.TenantId, deploymentId, orchestrations, ct, named)
                 ?? throw FleetException.Conflict("No device installed this deployment's release: there is nothing to roll back.");
        await audit.RecordAsync(actor, "deployment.rollback", "deployment", deploymentId, null, new { rollback = id }, ct);
        var rollback = await store.GetAsync(actor.TenantId, id, ct);
        return new DeploymentCreated(rollback, await store.StatisticsAsync(actor.TenantId, id, rollback.Phases.Count, ct));
    }

    private Task<IReadOnlyList<TargetDevice>> TargetDevicesAsync(string tenantId, DeploymentTarget target, CancellationToken ct) =>
        target.Devices is { } listed ? targets.ListedAsync(tenantId, listed, ct)
        : target.Group is not null || target.All ? targets.GroupAsync(tenantId, target.Group, ct)
        : targets.FilterAsync(tenantId, target.Filter!, ct);

    /// <summary>The orchestration first, then the deployment and its records, then the timeline of devices it skips.</summary>
    private async Task SaveAsync(Deployment deployment, IReadOnlyList<DeviceDeployment> records, IOrchestrationStarter orchestrations, CancellationToken ct)
    {
        await orchestrations.StartOnceAsync(OrchestrationNames.Deployment, deployment.InstanceId,
            new DeploymentState(deployment.TenantId, deployment.Id, options.Value.DeploymentCheckSeconds), ct);
        await store.CreateAsync(deployment, records, ct);
        await timeline.AppendAsync(deployment.TenantId, records.Where(r => r.Status == DeviceDeploymentStatuses.NoArtifact).Select(r => r.Serial),
            TimelineDecisions.Deployment, deployment.Id, TimelineDecisions.Skipped, "incompatible: no artifact of the release for the device's type", ct);
    }

    /// <summary>The rollback release's artifacts (checked when the deployment was created; deleted since, the rollback cannot be made).</summary>
    private Task<IReadOnlyList<DeploymentArtifact>> RollbackArtifactsAsync(string tenantId, RollbackTarget target, CancellationToken ct) =>
        ReleaseArtifacts.ResolveAsync(artifacts, tenantId, target.ReleaseName, target.ReleaseVersion, target.ArtifactId, "Rollback release", ct);

    private static DeploymentPlanResponse Plan(Deployment deployment, IReadOnlyList<DeviceDeployment> records, DateTimeOffset now)
    {
        var starts = DeploymentPlanner.EarliestStarts(deployment.Phases, now);
        var phases = deployment.Phases.Select(p => new PlannedPhase(p.Index, p.Size, starts[p.Index], p.SoakMinutes,
            records.Where(r => r.Phase == p.Index && r.Status == DeviceDeploymentStatuses.Pending).Select(r => r.Serial).ToList())).ToList();
        return new DeploymentPlanResponse(deployment.Name, deployment.Artifacts, records.Count, phases,
            records.Where(r => r.Status == DeviceDeploymentStatuses.NoArtifact).Select(r => r.Serial).ToList(), deployment.Policy, deployment.Target.Dynamic, deployment.ForceInstall);
    }
}
