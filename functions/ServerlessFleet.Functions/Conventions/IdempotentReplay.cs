using ServerlessFleet.Shared.Idempotency;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>What a handler stores for replay in place of its response, when the response holds what must not be stored.</summary>
public sealed class IdempotentRecord
{
    public string? Body { get; set; }
}

/// <summary>A repeat of a request whose handler makes its response afresh from the first response's record.</summary>
public sealed record IdempotentReplay(StoredResponse First);
