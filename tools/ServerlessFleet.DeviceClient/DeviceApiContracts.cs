using System.Text.Json.Nodes;

namespace ServerlessFleet.DeviceClient;

/// <summary>
/// What an authentication attempt gave: 200 with a token, or 401 while pending or rejected, with when to ask again
/// (<see cref="RetryAfter"/>: it grows as the wait does).
/// </summary>
public sealed record AuthAttempt(System.Net.HttpStatusCode Status, string? Token, DateTimeOffset? ExpiresAt, TimeSpan? RetryAfter = null);

/// <summary>What the device runs now; the server uses it to skip an update already installed or of another type.</summary>
public sealed record InstalledSoftware(string? ArtifactName = null, string? ArtifactVersion = null, string? DeviceType = null);

/// <summary>One poll: an offered deployment or none, and how long the server asks the device to wait before the next poll.</summary>
/// <summary>A poll's answer: the deployment offered, if any, and when to poll again.</summary>
/// <param name="Deployment">The offer, or null with nothing due.</param>
/// <param name="PollAfter">How long the server asks the device to wait before the next poll.</param>
/// <param name="InboxSeq">The newest action in the device's inbox (null from a server that does not say): read the inbox when it passes the last one handled.</param>
public sealed record PollResult(DeploymentOffer? Deployment, TimeSpan PollAfter, long? InboxSeq = null)
{
    public bool HasNewActions(long handledSeq) => InboxSeq is not { } newest || newest > handledSeq;
}

public sealed record DeploymentOffer(string DeploymentId, OfferedArtifact Artifact, int PollAfterSeconds);

/// <summary>The artifact to install: <see cref="Uri"/> is a short-lived read link that needs no credential.</summary>
public sealed record OfferedArtifact(string Name, string Version, Uri Uri, DateTimeOffset ExpiresAt, string Sha256, long Size,
    IReadOnlyList<string>? DeviceTypesCompatible);

/// <summary>The Mender status sequence a device reports for a deployment.</summary>
public static class DeploymentStatus
{
    public const string Downloading = "downloading";
    public const string Installing = "installing";
    public const string Rebooting = "rebooting";
    public const string Success = "success";
    public const string Failure = "failure";
    public const string AlreadyInstalled = "already-installed";
}

public sealed record DeploymentLogMessage(DateTimeOffset Timestamp, string Level, string Message);

public sealed record InventoryAttribute(string Name, JsonNode? Value);

/// <summary>A telemetry sample: one <see cref="Value"/>, or named <see cref="Values"/> (location, storage, metrics).</summary>
public sealed record TelemetrySample(string Type, DateTimeOffset Timestamp, double? Value = null, IReadOnlyDictionary<string, double>? Values = null);

/// <summary>An action waiting in the device's inbox; acknowledge it with its result once carried out.</summary>
public sealed record PendingAction(string ActionId, long Seq, string Type, JsonObject Params, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string Status);

internal sealed record AuthToken(string Token, DateTimeOffset ExpiresAt);
internal sealed record StatusReport(string Status, string? Substate);
internal sealed record LogUpload(IReadOnlyList<DeploymentLogMessage> Messages);
internal sealed record TelemetryBatch(IReadOnlyList<TelemetrySample> Samples);
internal sealed record ActionResult(string Status, string? Detail);
internal sealed record ApiError(string? Type, string? Message, string? RequestId, IReadOnlyDictionary<string, string[]>? Errors);
