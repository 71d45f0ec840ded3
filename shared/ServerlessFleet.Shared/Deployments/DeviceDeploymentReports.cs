using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Deployments;

public sealed record DeviceStatusRequest(string? Status, string? Substate);
public sealed record DeviceLogRequest(List<DeploymentLogMessageRequest>? Messages);
public sealed record DeploymentLogMessageRequest(DateTimeOffset? Timestamp, string? Level, string? Message);

/// <summary>
/// What a device reports about a deployment it was offered, for every transport: its progress through Mender's state
/// machine, and the log of an install.
/// </summary>
public sealed class DeviceDeploymentReports(DeploymentService deployments, DeploymentStore store, DeploymentLogs logs)
{
    public const int MaxLogMessages = 10_000;

    public async Task ReportStatusAsync(Device device, string deploymentId, DeviceStatusRequest request, CancellationToken ct)
    {
        if (request.Status is null || !DeviceDeploymentStatuses.Reportable.Contains(request.Status))
            throw FleetException.Validation("status", $"status is one of {string.Join(", ", DeviceDeploymentStatuses.Reportable)}.");
        if (request.Substate is { Length: > 200 }) throw FleetException.Validation("substate", "substate is at most 200 characters.");
        await deployments.ReportAsync(device, deploymentId, request.Status, request.Substate, ct);
    }

    /// <summary>Replaces the device's log for the deployment (as Mender does).</summary>
    public async Task WriteLogAsync(Device device, string deploymentId, DeviceLogRequest request, CancellationToken ct)
    {
        var messages = Validated(request);
        if (messages.Sum(m => m.Message.Length + m.Level.Length + 40) > DeploymentLogs.MaxBytes)
            throw new FleetException(ErrorCategory.PayloadTooLarge, $"A deployment log is at most {DeploymentLogs.MaxBytes} bytes.");
        _ = await store.FindRecordAsync(device.TenantId, deploymentId, device.Serial, ct) ?? throw FleetException.NotFound("Deployment", deploymentId);
        await logs.WriteAsync(device.TenantId, deploymentId, device.Serial, messages, ct);
    }

    private static List<DeploymentLogMessage> Validated(DeviceLogRequest request)
    {
        var errors = new ValidationErrors();
        errors.Require(request.Messages is { Count: > 0 and <= MaxLogMessages }, "messages", $"messages lists 1 to {MaxLogMessages} entries.");
        errors.ThrowIfAny();
        for (var i = 0; i < request.Messages!.Count && !errors.HasErrors; i++)
        {
            var m = request.Messages[i];
            errors.Require(m?.Timestamp is not null, $"messages[{i}].timestamp", "timestamp is required.");
            errors.Require(m?.Level is { Length: > 0 and <= 20 }, $"messages[{i}].level", "level is required (at most 20 characters).");
            errors.Require(m?.Message is { Length: <= 4000 }, $"messages[{i}].message", "message is required (at most 4000 characters).");
        }
        errors.ThrowIfAny();
        return request.Messages.Select(m => new DeploymentLogMessage(m.Timestamp!.Value, m.Level!, m.Message!)).ToList();
    }
}
