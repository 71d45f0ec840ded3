using System.Collections.Concurrent;

namespace ServerlessFleet.Simulator;

/// <summary>What a device was told by the server, as the device saw it: the record a fault drill holds the platform to.</summary>
public enum AcknowledgedKind
{
    /// <summary>A poll answered with a deployment to install.</summary>
    Offered,
    /// <summary>A deployment status report answered 204.</summary>
    StatusReported,
    /// <summary>A command found in the device's inbox (detail: its sequence number).</summary>
    Delivered,
    /// <summary>A command's result answered 204.</summary>
    Confirmed,
}

/// <param name="Detail">The status reported, or the inbox sequence number of a delivery.</param>
public sealed record Acknowledged(string Serial, AcknowledgedKind Kind, string SubjectId, string Detail);

/// <summary>Every answer the simulated devices were given that the platform must have kept, safe to record from many devices at once.</summary>
public sealed class Acknowledgements
{
    private readonly ConcurrentQueue<Acknowledged> _all = new();

    public void Record(string serial, AcknowledgedKind kind, string subjectId, string detail = "") => _all.Enqueue(new Acknowledged(serial, kind, subjectId, detail));

    public IReadOnlyList<Acknowledged> All => [.. _all];

    public int Count => _all.Count;
}
