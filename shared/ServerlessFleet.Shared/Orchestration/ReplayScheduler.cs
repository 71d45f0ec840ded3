namespace ServerlessFleet.Shared.Orchestration;

/// <summary>
/// Runs orchestrator code one continuation at a time on the calling thread, so that feeding history events
/// in order replays the code deterministically and every await has settled before the next event.
/// </summary>
internal sealed class ReplayScheduler : TaskScheduler
{
    private readonly Queue<Task> _ready = new();

    protected override void QueueTask(Task task) => _ready.Enqueue(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => _ready.ToArray();

    public void RunUntilIdle()
    {
        // Continuations must come back here, not to whatever context the caller runs in.
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            while (_ready.TryDequeue(out var task)) TryExecuteTask(task);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }
}
