using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Shared.Deployments;

/// <summary>
/// What happens to devices in a deployment: offering it (the device's queue on its row, then the record), the device's
/// reports with retries, timeouts, abort and decommission. The orchestration decides when; this does it, idempotently,
/// so a step repeated after a crash changes nothing twice.
/// </summary>
public sealed class DeploymentService(DeploymentStore store, DeviceStore devices, DeviceTimeline timeline, TimeProvider clock)
{
    private const int Parallelism = 16;

    /// <summary>Offers the deployment to one batch of a phase; returns how many devices it was offered to.</summary>
    public async Task<int> AssignBatchAsync(string tenantId, string deploymentId, int phase, int batch, CancellationToken ct)
    {
        var deployment = await store.GetAsync(tenantId, deploymentId, ct);
        if (!DeploymentStatuses.IsActive(deployment.Status)) return 0;
        var records = await store.RecordsAsync(tenantId, deploymentId, $"Phase eq {phase} and Batch eq {batch} and Status eq '{DeviceDeploymentStatuses.Pending}'", ct);
        var offered = 0;
        await Parallel.ForEachAsync(records.Where(r => r.OfferedAt is null), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
            async (record, token) =>
            {
                if (await OfferAsync(deployment, record, token)) Interlocked.Increment(ref offered);
            });
        return offered;
    }

    /// <summary>Puts the deployment in the device's queue and stamps the record; a device that is gone is marked decommissioned.</summary>
    public async Task<bool> OfferAsync(Deployment deployment, DeviceDeployment record, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var serial = record.Serial;
        // A device of no known type yet gets the release's artifacts to choose from when its poll names its type.
        var artifact = deployment.Artifacts.FirstOrDefault(a => a.Id == record.ArtifactId);
        if (artifact is null && record.ArtifactId is not null) return false;
        var slot = new DeploymentSlot(deployment.Id, artifact, deployment.ForceInstall, deployment.Policy.Retries, null,
            Candidates: artifact is null ? deployment.Artifacts : null);
        var changed = await devices.ChangeDeploymentsAsync(deployment.TenantId, serial,
            d => d.Status == DeviceStatuses.Decommissioned ? d.Deployments : d.Deployments.Add(slot, now), ct);
        if (changed is not { } c || c.Before.Status == DeviceStatuses.Decommissioned)
        {
            await UpdateRecordAsync(deployment.TenantId, deployment.Id, serial, r => DeviceDeploymentStatuses.IsFinal(r.Status) ? null
                : r with { Status = DeviceDeploymentStatuses.Decommissioned, FinishedAt = now }, ct);
            return false;
        }
        var assignedAt = c.After.Current?.DeploymentId == deployment.Id ? c.After.Current.AssignedAt : null;
        // The timeline row and the record are independent writes: side by side, the offer waits for the slower one only.
        await Task.WhenAll(record.OfferedAt is null ? RecordOfferAsync(deployment, record, c.After, ct) : Task.CompletedTask,
            UpdateRecordAsync(deployment.TenantId, deployment.Id, serial, r => r.OfferedAt is not null && r.AssignedAt == assignedAt ? null
                : r with { OfferedAt = r.OfferedAt ?? now, AssignedAt = r.AssignedAt ?? assignedAt, Attempts = Math.Max(r.Attempts, 1) }, ct));
        if (c.Before.Deployments.Current is { } displaced && displaced.DeploymentId != c.After.Current?.DeploymentId)
        {
            // A newer deployment the device had not started waits again behind this older one: its timeout clock stops.
            await UpdateRecordAsync(deployment.TenantId, displaced.DeploymentId, serial, r => r.AssignedAt is null || DeviceDeploymentStatuses.IsFinal(r.Status) ? null
                : r with { AssignedAt = null }, ct);
        }
        return true;
    }

    private Task RecordOfferAsync(Deployment deployment, DeviceDeployment record, DeviceDeploymentQueue queue, CancellationToken ct)
    {
        var phase = $"phases[{record.Phase}]";
        var (decision, reason) = queue.Current?.DeploymentId != deployment.Id
            ? (TimelineDecisions.Queued, $"{phase}: the device is busy with deployment {queue.Current?.DeploymentId}; this one waits behind it")
            : deployment.RollbackOf is { } rolledBack
                ? (TimelineDecisions.RolledBack, $"offered the rollback release ({Release(deployment)}): deployment {rolledBack} was aborted by its gate or threshold")
                : (TimelineDecisions.Offered, $"{phase}: {Release(deployment)}, targeted by {Targeting(deployment.Target)}");
        return timeline.AppendAsync(deployment.TenantId, record.Serial, TimelineDecisions.Deployment, deployment.Id, decision, reason, ct);
    }

    private static string Release(Deployment deployment) => string.Join(", ", deployment.Artifacts.Select(a => $"{a.Name} {a.Version}").Distinct());

    public static string Targeting(DeploymentTarget target) =>
        target.Group is { } group ? $"group {group}" : target.Filter is { } filter ? $"filter {string.Join(", ", filter.Select(f => $"{f.Key}={f.Value}"))}"
        : target.All ? "all devices" : "device list";

    /// <summary>A device's status report for its current deployment (Mender's state machine; retries on failure).</summary>
    public async Task ReportAsync(Device device, string deploymentId, string status, string? substate, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var record = await store.FindRecordAsync(device.TenantId, deploymentId, device.Serial, ct) ?? throw FleetException.NotFound("Deployment", deploymentId);
        var slot = device.Deployments.Current?.DeploymentId == deploymentId ? device.Deployments.Current : null;
        if (slot is not null && DeviceDeploymentStatuses.IsFinal(record.Status))
        {
            // Over for this device, yet still on its row: the second of the two writes was lost. Repaired before answering.
            await LeaveDeviceAsync(device.TenantId, device.Serial, deploymentId, ct, device);
            slot = null;
        }
        DeviceDeployment? finished = null;
        DeviceDeployment? retried = null;
        DeviceDeployment? repeatedFinal = null;
        await UpdateRecordAsync(device.TenantId, deploymentId, device.Serial, r =>
        {
            (finished, retried, repeatedFinal) = (null, null, null);
            switch (DeviceDeploymentStatuses.Check(r.Status, status))
            {
                case DeviceDeploymentStatuses.Verdict.Closed:
                    throw FleetException.Conflict(r.Status == DeviceDeploymentStatuses.Aborted
                        ? "Status already set to aborted: the deployment takes no more reports." : $"Status already set to {r.Status}: the deployment is over on this device.");
                case DeviceDeploymentStatuses.Verdict.Invalid:
                    throw FleetException.Validation("status", $"A device cannot go from {r.Status} to {status}.");
                case DeviceDeploymentStatuses.Verdict.Repeat:
                    repeatedFinal = DeviceDeploymentStatuses.IsFinal(r.Status) ? r : null;
                    return substate is null || substate == r.Substate || DeviceDeploymentStatuses.IsFinal(r.Status) ? null
                        : r with { Substate = substate, LastReportAt = now };
            }
            if (slot is null) throw FleetException.Conflict("This deployment is not the device's current deployment.");
            // The device row is the truth about what is current; the record may not carry the stamp yet.
            var next = r with { Status = status, Substate = substate, LastReportAt = now, StartedAt = r.StartedAt ?? now, AssignedAt = r.AssignedAt ?? slot.AssignedAt ?? now };
            if (status == DeviceDeploymentStatuses.Failure && r.Attempts <= slot.Retries)
                retried = next = Reoffer(next, now, substate ?? "failed; retrying");
            else if (DeviceDeploymentStatuses.IsFinal(status)) next = next with { FinishedAt = now };
            finished = DeviceDeploymentStatuses.IsFinal(next.Status) ? next : null;
            if (finished is not null) retried = null;
            return next;
        }, ct, record);
        if (finished is not null)
        {
            var installed = slot?.ArtifactFor(finished.DeviceType ?? device.DeviceType);
            await Task.WhenAll(
                LeaveDeviceAsync(device.TenantId, device.Serial, deploymentId, ct, device, DeviceDeploymentStatuses.IsSuccessful(finished.Status) ? installed : null),
                RecordFinishAsync(device, deploymentId, finished, installed, substate, ct));
        }
        else if (repeatedFinal is not null)
        {
            // The device repeats a final report whose answer it did not get: the timeline entry of the first may be what was lost.
            await RecordFinishAsync(device, deploymentId, repeatedFinal, slot?.ArtifactFor(repeatedFinal.DeviceType ?? device.DeviceType), substate, ct);
        }
        else if (retried is { } again)
            await timeline.AppendAsync(device.TenantId, device.Serial, TimelineDecisions.Deployment, deploymentId, TimelineDecisions.Retried,
                $"reported failure{(substate is null ? "" : $": {substate}")}; offered again (attempt {again.Attempts} of {slot!.Retries + 1})", ct, again.Attempts);
        else if (slot is { Started: false })
            await devices.ChangeDeploymentsAsync(device.TenantId, device.Serial, d => d.Deployments.MarkStarted(deploymentId), ct, device);
    }

    private Task RecordFinishAsync(Device device, string deploymentId, DeviceDeployment finished, DeploymentArtifact? installed, string? substate, CancellationToken ct)
    {
        var runs = installed is null ? "the deployment's release" : $"{installed.Name} {installed.Version}";
        var (decision, reason) = finished.Status switch
        {
            DeviceDeploymentStatuses.Success => (TimelineDecisions.Installed, $"reported success: runs {runs}"),
            DeviceDeploymentStatuses.AlreadyInstalled => (TimelineDecisions.Skipped, $"already installed: the device runs {runs}"),
            _ => (TimelineDecisions.Failed, $"reported failure{(substate is null ? "" : $": {substate}")}; no retries left"),
        };
        return timeline.AppendAsync(device.TenantId, device.Serial, TimelineDecisions.Deployment, deploymentId, decision, reason, ct);
    }

    /// <summary>
    /// The device's current deployment, unless its record is already final. A device row that still carries a deployment
    /// the device has reported on, whose record is final, lost the second of the two writes (record, then row): it
    /// leaves that deployment here, so a device is never held by a deployment that is over for it. A deployment the
    /// device has not started is offered without a read (the common poll); should its record be final, the device's
    /// first report repairs the row.
    /// </summary>
    public async Task<DeploymentSlot?> CurrentAsync(Device device, CancellationToken ct)
    {
        var queue = device.Deployments;
        var known = device;
        while (queue.Current is { } slot)
        {
            if (!slot.Started) return slot;
            var record = await store.FindRecordAsync(device.TenantId, slot.DeploymentId, device.Serial, ct);
            if (record is not null && !DeviceDeploymentStatuses.IsFinal(record.Status)) return slot;
            if (await LeaveDeviceAsync(device.TenantId, device.Serial, slot.DeploymentId, ct, known) is not { } after) return null;
            (queue, known) = (after, null);
        }
        return null;
    }

    /// <summary>
    /// The device, of no known type when the deployment reached it, named its type in a poll and <paramref name="chosen"/>
    /// fits it: the slot on its row and its record now name that artifact, so later polls and reports need no choice.
    /// </summary>
    public async Task<DeploymentSlot?> ChooseArtifactAsync(Device device, string deploymentId, string deviceType, DeploymentArtifact chosen, CancellationToken ct)
    {
        var changed = await devices.ChangeDeploymentsAsync(device.TenantId, device.Serial, d => d.Deployments.Current is { Artifact: null } current && current.DeploymentId == deploymentId
            ? d.Deployments with { Current = current with { Artifact = chosen, Candidates = null } } : d.Deployments, ct, device);
        await UpdateRecordAsync(device.TenantId, deploymentId, device.Serial, r => r.ArtifactId is not null ? null : r with { ArtifactId = chosen.Id, DeviceType = deviceType }, ct);
        return changed?.After.Current is { } current && current.DeploymentId == deploymentId ? current : null;
    }

    /// <summary>The device's type has no artifact in its current deployment: the record ends as noartifact and the next deployment moves up.</summary>
    public async Task NoArtifactAsync(Device device, string deploymentId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await UpdateRecordAsync(device.TenantId, deploymentId, device.Serial, r => DeviceDeploymentStatuses.IsFinal(r.Status) ? null
            : r with { Status = DeviceDeploymentStatuses.NoArtifact, FinishedAt = now, Substate = $"no artifact for device type {device.DeviceType}" }, ct);
        await LeaveDeviceAsync(device.TenantId, device.Serial, deploymentId, ct, device);
        await timeline.AppendAsync(device.TenantId, device.Serial, TimelineDecisions.Deployment, deploymentId, TimelineDecisions.Skipped,
            $"incompatible: no artifact for device type {device.DeviceType ?? "(none)"}", ct);
    }

    /// <summary>Devices that have not finished within the timeout fail (or are offered again while retries remain).</summary>
    public async Task<int> TimeOutAsync(Deployment deployment, CancellationToken ct)
    {
        if (deployment.Policy.DeviceTimeoutMinutes is not { } minutes) return 0;
        var now = clock.GetUtcNow();
        var deadline = now - TimeSpan.FromMinutes(minutes);
        var late = (await store.RecordsAsync(deployment.TenantId, deployment.Id, $"AssignedAt lt datetime'{deadline.UtcDateTime:O}'", ct))
            .Where(r => !DeviceDeploymentStatuses.IsFinal(r.Status)).ToList();
        await Parallel.ForEachAsync(late, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (record, token) =>
        {
            var failed = false;
            DeviceDeployment? changed = null;
            await UpdateRecordAsync(deployment.TenantId, deployment.Id, record.Serial, r =>
            {
                (failed, changed) = (false, null);
                if (DeviceDeploymentStatuses.IsFinal(r.Status) || r.AssignedAt is not { } assigned || assigned >= deadline) return null;
                if (r.Attempts <= deployment.Policy.Retries) return changed = Reoffer(r, now, "timed out; retrying");
                failed = true;
                return changed = r with { Status = DeviceDeploymentStatuses.Failure, Substate = "timed out", FinishedAt = now };
            }, token);
            if (failed) await LeaveDeviceAsync(deployment.TenantId, record.Serial, deployment.Id, token);
            if (changed is not null)
                await timeline.AppendAsync(deployment.TenantId, record.Serial, TimelineDecisions.Deployment, deployment.Id,
                    failed ? TimelineDecisions.TimedOut : TimelineDecisions.Retried,
                    failed ? $"no final report within {minutes:0.##} min; failed" : $"no final report within {minutes:0.##} min; offered again (attempt {changed.Attempts})", token,
                    failed ? 0 : changed.Attempts);
        });
        return late.Count;
    }

    /// <summary>Every device not final yet is aborted: not started → never starts; in progress → its reports are refused (409).</summary>
    /// <param name="reason">Who or what aborted it (an operator's request, the failure threshold, the health gate), for each device's timeline.</param>
    public async Task<int> AbortAsync(string tenantId, string deploymentId, string reason, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var open = (await store.RecordsAsync(tenantId, deploymentId, null, ct)).Where(r => !DeviceDeploymentStatuses.IsFinal(r.Status)).ToList();
        await Parallel.ForEachAsync(open, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (record, token) =>
        {
            var aborted = false;
            await UpdateRecordAsync(tenantId, deploymentId, record.Serial, r =>
            {
                aborted = !DeviceDeploymentStatuses.IsFinal(r.Status);
                return aborted ? r with { Status = DeviceDeploymentStatuses.Aborted, FinishedAt = now } : null;
            }, token);
            if (record.OfferedAt is not null) await LeaveDeviceAsync(tenantId, record.Serial, deploymentId, token);
            if (aborted)
                await timeline.AppendAsync(tenantId, record.Serial, TimelineDecisions.Deployment, deploymentId, TimelineDecisions.Aborted, reason, token);
        });
        return open.Count;
    }

    /// <summary>A decommissioned device leaves every deployment it was queued for.</summary>
    public async Task DecommissionAsync(Device device, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var slots = device.Deployments.Waiting.Prepend(device.Deployments.Current).OfType<DeploymentSlot>().ToList();
        foreach (var slot in slots)
            await UpdateRecordAsync(device.TenantId, slot.DeploymentId, device.Serial, r => DeviceDeploymentStatuses.IsFinal(r.Status) ? null
                : r with { Status = DeviceDeploymentStatuses.Decommissioned, FinishedAt = now }, ct);
        await devices.ChangeDeploymentsAsync(device.TenantId, device.Serial, _ => DeviceDeploymentQueue.Empty, ct);
    }

    /// <summary>
    /// Devices that matched a dynamic target after the deployment started join it (up to maxDevices), in the last
    /// phase; they are offered at once when that phase is already out.
    /// </summary>
    public async Task<int> JoinAsync(Deployment deployment, IReadOnlyList<(string Serial, string? DeviceType)> matching, bool lastPhaseReleased, CancellationToken ct)
    {
        var known = (await store.RecordsAsync(deployment.TenantId, deployment.Id, null, ct)).Select(r => r.Serial).ToHashSet(StringComparer.Ordinal);
        var room = deployment.Policy.MaxDevices is { } max ? Math.Max(0, max - known.Count) : int.MaxValue;
        var joining = matching.Where(m => !known.Contains(m.Serial)).OrderBy(m => m.Serial, StringComparer.Ordinal).Take(room).ToList();
        var phase = deployment.Phases.Count - 1;
        var now = clock.GetUtcNow();
        foreach (var (serial, deviceType) in joining)
        {
            var record = DeploymentPlanner.Record(serial, deviceType, phase, 0, deployment.ArtifactFor, now);
            // A lost race with a repeated join is fine: the record exists either way.
            await store.TryWriteRecordAsync(deployment.TenantId, deployment.Id, null, record, ct);
            if (record.Status == DeviceDeploymentStatuses.Pending && lastPhaseReleased) await OfferAsync(deployment, record, ct);
        }
        return joining.Count;
    }

    private static DeviceDeployment Reoffer(DeviceDeployment r, DateTimeOffset now, string substate) => r with
    {
        Status = DeviceDeploymentStatuses.Pending, Attempts = r.Attempts + 1, AssignedAt = now, StartedAt = null, FinishedAt = null, Substate = substate,
    };

    /// <summary>Takes a deployment off the device; the oldest one waiting behind it becomes current and its record says so.</summary>
    private async Task<DeviceDeploymentQueue?> LeaveDeviceAsync(string tenantId, string serial, string deploymentId, CancellationToken ct, Device? known = null,
        DeploymentArtifact? installed = null)
    {
        var now = clock.GetUtcNow();
        var changed = await devices.ChangeDeploymentsAsync(tenantId, serial, d => d.Deployments.Remove(deploymentId, now), ct, known, installed);
        if (changed is not { } c) return null;
        if (c.After.Current is { } promoted && c.Before.Deployments.Current?.DeploymentId != promoted.DeploymentId)
            await UpdateRecordAsync(tenantId, promoted.DeploymentId, serial, r => r.AssignedAt is not null ? null : r with { AssignedAt = promoted.AssignedAt }, ct);
        return c.After;
    }

    /// <summary>Read-modify-write of one record (and its counts) under its ETag; <paramref name="change"/> returns null for "nothing to do".</summary>
    private Task<DeviceDeployment?> UpdateRecordAsync(string tenantId, string deploymentId, string serial,
        Func<DeviceDeployment, DeviceDeployment?> change, CancellationToken ct, DeviceDeployment? known = null) =>
        OptimisticUpdate.RunAsync(() => store.FindRecordAsync(tenantId, deploymentId, serial, ct), change,
            (current, next) => store.TryWriteRecordAsync(tenantId, deploymentId, current, next, ct), $"Deployment {deploymentId}/{serial}", known);
}
