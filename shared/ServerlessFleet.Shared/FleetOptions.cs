namespace ServerlessFleet.Shared;

/// <summary>The <c>Fleet</c> settings section.</summary>
public sealed class FleetOptions
{
    public const string Section = "Fleet";

    /// <summary>A key that acts as <c>account:owner</c> of <see cref="DefaultTenant"/>; used to bootstrap tenants and keys.</summary>
    public string? BootstrapKey { get; set; }

    public string DefaultTenant { get; set; } = "default";

    /// <summary>HMAC key (base64, or any text) that signs pagination tokens; must be the same on every instance.</summary>
    public string? PageTokenKey { get; set; }

    /// <summary>Largest artifact accepted, by either upload path.</summary>
    public long MaxArtifactBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>
    /// The blob endpoint devices reach storage at, when it differs from the app's (locally: the machine's LAN address
    /// instead of 127.0.0.1, e.g. <c>http://192.168.1.20:10000/devstoreaccount1</c>). Links are issued with it.
    /// </summary>
    public string? PublicBlobEndpoint { get; set; }

    /// <summary>Lifetime of artifact download links.</summary>
    public int DownloadUrlMinutes { get; set; } = 15;

    /// <summary>Telemetry history older than this is deleted daily.</summary>
    public int TelemetryRetentionDays { get; set; } = 30;

    /// <summary>
    /// One log line per HTTP request (method, path without its query, status, duration) at Information. Off by default:
    /// a fleet's devices poll all day, and their requests would fill the log.
    /// </summary>
    public bool LogRequests { get; set; }

    /// <summary>How often a running deployment looks at its statistics (and sweeps timeouts or dynamic targets).</summary>
    public int DeploymentCheckSeconds { get; set; } = 10;

    /// <summary>
    /// How long a bulk action's released devices may wait for their delivery before it is sent again: a delivery lost
    /// to a crashed host or a poisoned message is redelivered (delivery is idempotent per device).
    /// </summary>
    public int ActionRedeliverSeconds { get; set; } = 60;

    /// <summary>How long a pause, resume, abort or cancel request waits for the orchestration to show the change before answering 202.</summary>
    public int CommandWaitSeconds { get; set; } = 20;

    /// <summary>What a device is told to wait before polling again when no deployment is due (<c>X-Poll-After</c>).</summary>
    public int DevicePollSeconds { get; set; } = 300;

    /// <summary>What a device with a deployment queued or under way is told instead (at most <see cref="DevicePollSeconds"/>).</summary>
    public int DeploymentPollSeconds { get; set; } = 60;

    /// <summary>Each poll interval is spread by up to this share either way, so a fleet restarted at once does not poll in lockstep.</summary>
    public int PollJitterPercent { get; set; } = 20;

    /// <summary>The longest a device that keeps sending invalid reports is told to wait (its interval doubles with each one).</summary>
    public int MaxPollBackoffSeconds { get; set; } = 3600;

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(DefaultTenant) || !Tenants.TenantIds.IsValid(DefaultTenant))
            yield return "Fleet:DefaultTenant must be a valid tenant id (lowercase letters, digits and '-', 3-63 characters).";
        if (TelemetryRetentionDays is < 1 or > 3650)
            yield return "Fleet:TelemetryRetentionDays must be between 1 and 3650.";
        if (DeploymentCheckSeconds is < 1 or > 3600)
            yield return "Fleet:DeploymentCheckSeconds must be between 1 and 3600.";
        if (ActionRedeliverSeconds is < 5 or > 86400)
            yield return "Fleet:ActionRedeliverSeconds must be between 5 and 86400.";
        if (CommandWaitSeconds is < 1 or > 200)
            yield return "Fleet:CommandWaitSeconds must be between 1 and 200.";
        if (DevicePollSeconds is < 5 or > 86400)
            yield return "Fleet:DevicePollSeconds must be between 5 and 86400.";
        if (DeploymentPollSeconds is < 1 or > 86400)
            yield return "Fleet:DeploymentPollSeconds must be between 1 and 86400.";
        if (MaxPollBackoffSeconds is < 5 or > 86400)
            yield return "Fleet:MaxPollBackoffSeconds must be between 5 and 86400.";
        if (PollJitterPercent is < 0 or > 50)
            yield return "Fleet:PollJitterPercent must be between 0 and 50.";
        if (BootstrapKey is { Length: > 0 and < 24 })
            yield return "Fleet:BootstrapKey must be at least 24 characters long.";
        if (PublicBlobEndpoint is { Length: > 0 } endpoint && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            yield return "Fleet:PublicBlobEndpoint must be an absolute http(s) URL.";
        foreach (var (name, value) in new[] { ("Fleet:BootstrapKey", BootstrapKey), ("Fleet:PageTokenKey", PageTokenKey) })
            if (SecretSettings.IsUnresolvedReference(value)) yield return SecretSettings.Unresolved(name);
    }
}

/// <summary>
/// App Service resolves <c>@Microsoft.KeyVault(…)</c> settings into the secret; when it cannot (no access, no such
/// secret) the setting keeps the reference text, which must never be taken for the secret itself.
/// </summary>
public static class SecretSettings
{
    public static bool IsUnresolvedReference(string? value) =>
        value is not null && value.TrimStart().StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase);

    public static string Unresolved(string name) =>
        $"{name} is an unresolved Key Vault reference: grant the app's identity 'get' on the secret (or fix the reference); it is not used as the secret.";
}
