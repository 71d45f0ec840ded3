namespace ServerlessFleet.Shared.Orchestration;

/// <summary>
/// The boundaries between the storage writes of a step. Tests make the runtime fail at each of them to
/// prove that a crash there loses and duplicates nothing.
/// </summary>
public enum FaultPoint
{
    /// <summary>The step's state is committed; its outgoing messages are not sent.</summary>
    AfterStateCommit,
    /// <summary>The outgoing messages are sent; the outbox row is not deleted.</summary>
    AfterOutboxSent,
    /// <summary>An activity ran; its result is not written.</summary>
    AfterActivityRan,
    /// <summary>An activity's result is written; the instance is not woken.</summary>
    AfterResultWritten,
    /// <summary>A due timer is written to the inbox; the instance has not run.</summary>
    AfterTimerWritten,
    /// <summary>An instance's start or an event is written; the wake-up is not sent.</summary>
    AfterClientWrite,
}

/// <summary>Production has none; tests supply one that throws at chosen points.</summary>
public interface IRuntimeFaults
{
    void At(FaultPoint point, string instanceId);
}

public sealed class NoRuntimeFaults : IRuntimeFaults
{
    public void At(FaultPoint point, string instanceId) { }
}
