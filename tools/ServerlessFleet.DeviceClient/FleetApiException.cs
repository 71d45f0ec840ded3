using System.Net;

namespace ServerlessFleet.DeviceClient;

/// <summary>The server refused a call; <see cref="ErrorType"/> is the contract's error type (conflict, validation_error…).</summary>
public sealed class FleetApiException(HttpStatusCode status, string? errorType, string message, IReadOnlyDictionary<string, string[]>? errors = null)
    : Exception($"{(int)status} {errorType}: {message}")
{
    public HttpStatusCode Status { get; } = status;
    public string? ErrorType { get; } = errorType;

    /// <summary>For validation errors: the messages per field, in the contract's names (<c>samples[3].timestamp</c>).</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors ?? new Dictionary<string, string[]>();
}

/// <summary>Downloaded bytes do not match the offered artifact: never install them.</summary>
public sealed class ArtifactVerificationException(string message) : Exception(message);
