using ServerlessFleet.Shared.Audit;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Shared.Artifacts;

/// <summary>Deleting an artifact: refused while an active deployment uses it; its record and its blob go together.</summary>
public sealed class ArtifactRemoval(ArtifactStore store, ArtifactBlobs blobs, IEnumerable<IArtifactUsage> usages, AuditLog audit)
{
    public async Task DeleteAsync(Actor actor, string id, CancellationToken ct)
    {
        var artifact = await store.GetAsync(actor.TenantId, id, ct);
        foreach (var usage in usages)
            if (await usage.IsInUseAsync(actor.TenantId, id, ct)) throw FleetException.Conflict($"Artifact '{id}' is used by an active deployment.");
        await store.DeleteAsync(artifact, ct);
        await blobs.DeleteAsync(actor.TenantId, id, ct);
        await audit.RecordAsync(actor, "artifact.delete", "artifact", id, ArtifactResponse.From(artifact), null, ct);
    }
}
