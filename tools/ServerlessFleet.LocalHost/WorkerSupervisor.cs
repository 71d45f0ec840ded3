namespace ServerlessFleet.LocalHost;

/// <summary>
/// Keeps a worker running, as the Functions host does: a worker that exits after it has loaded is started again after a
/// back-off (1 s, doubling to 30 s), at most <c>LocalHost:MaxWorkerRestarts</c> times (5) within <see cref="RestartWindow"/>;
/// past that, or if the first worker never loads, the host ends. Invocations in flight on a worker that dies fail; queue
/// messages they held come back after their visibility timeout.
/// </summary>
public sealed class WorkerSupervisor(string appDirectory, Uri hostEndpoint, IReadOnlyDictionary<string, string> settings, HostLog log) : IDisposable
{
    private readonly int _maxRestarts = settings.TryGetValue("LocalHost__MaxWorkerRestarts", out var max) && int.TryParse(max, out var n) ? n : 5;
    public static readonly TimeSpan RestartWindow = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly Queue<DateTimeOffset> _restarts = new();
    private WorkerProcess _current = null!;

    public WorkerProcess Current => Volatile.Read(ref _current);

    public void Start()
    {
        var worker = WorkerProcess.Start(appDirectory, hostEndpoint, settings, log);
        Volatile.Write(ref _current, worker);
        log.Host($"Started worker process {worker.Id} from {appDirectory}.");
    }

    /// <summary>Restarts the worker whenever it exits, until stopped; the reason the host must end if it gives up.</summary>
    public async Task<string> SuperviseAsync(CancellationToken stopping)
    {
        while (true)
        {
            var code = await Current.Exited.WaitAsync(stopping);
            var now = DateTimeOffset.UtcNow;
            while (_restarts.Count > 0 && now - _restarts.Peek() > RestartWindow) _restarts.Dequeue();
            if (_restarts.Count >= _maxRestarts)
                return $"The worker process exited with code {code}, its {_maxRestarts + 1}th exit within {RestartWindow.TotalMinutes:0} minutes; not starting it again.";
            _restarts.Enqueue(now);
            var backoff = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, _restarts.Count - 1)));
            log.Host($"The worker process exited with code {code}; invocations in flight failed. Starting it again in {backoff.TotalSeconds:0} s " +
                     $"(restart {_restarts.Count} of {_maxRestarts} within {RestartWindow.TotalMinutes:0} minutes).");
            await Task.Delay(backoff, stopping);
            Current.Dispose();
            Start();
        }
    }

    public void Dispose() => Current.Dispose();
}
