namespace ServerlessFleet.FaultDrill;

public sealed record FaultDrillOptions
{
    public int Devices { get; init; } = 60;
    public int Phases { get; init; } = 3;
    /// <summary>How long each phase but the last is watched: keeps the rollout in flight while the faults strike.</summary>
    public TimeSpan Soak { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Devices the bulk action releases at a time, with <see cref="ActionBatchDelay"/> between batches.</summary>
    public int ActionBatchSize { get; init; } = 5;
    public TimeSpan ActionBatchDelay { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>How long storage stays away once stopped.</summary>
    public TimeSpan StorageOutage { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>The longest the drill waits for any one thing (recovery, progress, the end of the rollout).</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Where storage keeps its data; a fresh temporary folder, removed afterwards, when null.</summary>
    public string? DataFolder { get; init; }
    public Action<string> Say { get; init; } = _ => { };
}
