using System.Text.Json.Nodes;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Mender;

namespace ServerlessFleet.Shared.Artifacts;

/// <summary>An artifact's metadata from the Mender Artifact itself; form fields may add to it but not contradict it.</summary>
public static class MenderArtifactMetadata
{
    public static ArtifactMetadata From(MenderArtifactInfo info, string? name, string? version, string? kind, IReadOnlyList<string>? deviceTypes,
        string? description, JsonNode? provides, JsonNode? depends)
    {
        var errors = new ValidationErrors();
        errors.Require(name is null || name == info.ArtifactName, "name", $"name must be the artifact's own artifact_name '{info.ArtifactName}' (or be left out).");
        errors.Require(deviceTypes is null || deviceTypes.Order(StringComparer.Ordinal).SequenceEqual(info.DeviceTypesCompatible.Order(StringComparer.Ordinal)),
            "deviceTypesCompatible", $"deviceTypesCompatible must be the artifact's own ({string.Join(", ", info.DeviceTypesCompatible)}) or be left out.");
        errors.ThrowIfAny();
        // A Mender release is its artifact_name; the version defaults to it so that the pair stays unique per release.
        return ArtifactRules.Validate(info.ArtifactName, version ?? info.ArtifactName,
            kind ?? (info.PayloadTypes.Contains("rootfs-image") ? "os" : "app"), info.DeviceTypesCompatible, description,
            provides ?? info.Provides, depends ?? info.Depends);
    }
}
