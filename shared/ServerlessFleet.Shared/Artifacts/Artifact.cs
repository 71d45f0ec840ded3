using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Artifacts;

/// <summary>What an artifact is: Mender's artifact metadata plus Memfault's release grouping (name + version).</summary>
public sealed record ArtifactMetadata(
    string Name,
    string Version,
    string Kind,
    IReadOnlyList<string> DeviceTypesCompatible,
    string? Description,
    JsonObject Provides,
    JsonObject Depends);

public sealed record Artifact(
    string Id,
    string TenantId,
    ArtifactMetadata Metadata,
    long Size,
    string Sha256,
    string ContentType,
    string? FileName,
    DateTimeOffset CreatedAt)
{
    public string BlobName => ArtifactBlobs.BlobName(TenantId, Id);
}

public static partial class ArtifactRules
{
    public static readonly IReadOnlySet<string> Kinds = new HashSet<string> { "os", "firmware", "app", "config" };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._+:-]{0,127}$")]
    private static partial Regex Token();

    public static ArtifactMetadata Validate(string? name, string? version, string? kind, IReadOnlyList<string>? deviceTypes,
        string? description, JsonNode? provides, JsonNode? depends)
    {
        var errors = new ValidationErrors();
        errors.Require(name is not null && Token().IsMatch(name), "name", "name is required: 1-128 of A-Z a-z 0-9 . _ + : - (starting with a letter or digit).");
        errors.Require(version is not null && Token().IsMatch(version), "version", "version is required: 1-128 of A-Z a-z 0-9 . _ + : -.");
        errors.Require(kind is not null && Kinds.Contains(kind), "kind", "kind is os, firmware, app or config.");
        var types = deviceTypes?.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t.Trim()).Distinct().ToList() ?? [];
        errors.Require(types.Count is >= 1 and <= 50, "deviceTypesCompatible", "deviceTypesCompatible needs 1 to 50 device types.");
        foreach (var t in types.Where(t => !Token().IsMatch(t) || t.Contains('|'))) errors.Add("deviceTypesCompatible", $"'{t}' is not a valid device type.");
        errors.Require(description is null || description.Length <= 1000, "description", "description is at most 1000 characters.");
        errors.Require(provides is null or JsonObject, "provides", "provides is a JSON object.");
        errors.Require(depends is null or JsonObject, "depends", "depends is a JSON object.");
        errors.Require((provides?.ToJsonString().Length ?? 0) + (depends?.ToJsonString().Length ?? 0) <= 8000, "provides", "provides and depends together are at most 8000 characters.");
        errors.ThrowIfAny();
        return new ArtifactMetadata(name!, version!, kind!, types, description,
            provides?.DeepClone() as JsonObject ?? [], depends?.DeepClone() as JsonObject ?? []);
    }
}

/// <summary>Stops deleting an artifact that is still in use (the deployments feature registers one).</summary>
public interface IArtifactUsage
{
    Task<bool> IsInUseAsync(string tenantId, string artifactId, CancellationToken ct);
}
