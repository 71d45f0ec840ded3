namespace ServerlessFleet.Benchmarks;

/// <summary>
/// Searches that take turns step by step, each step alone on the machine: the machine's own drift over the minutes a
/// search takes (this VM's speed moves by a quarter between minutes) then weighs on every side alike, where searches
/// run one after the other would each meet a different machine.
/// </summary>
internal sealed class TakingTurns(int sides)
{
    private readonly object _gate = new();
    private readonly bool[] _finished = new bool[sides];
    private int _turn;
    private TaskCompletionSource _passed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary><paramref name="step"/> run only in <paramref name="side"/>'s turn.</summary>
    public Func<double, Task<LoadStep>> InTurn(int side, Func<double, Task<LoadStep>> step) => async rate =>
    {
        await TurnAsync(side);
        try { return await step(rate); }
        finally { Pass(); }
    };

    /// <summary>The side has no more steps; the others go on without it.</summary>
    public void Finish(int side)
    {
        lock (_gate)
        {
            _finished[side] = true;
            if (_turn == side) PassLocked();
        }
    }

    private async Task TurnAsync(int side)
    {
        while (true)
        {
            Task passed;
            lock (_gate)
            {
                if (_turn == side) return;
                passed = _passed.Task;
            }
            await passed;
        }
    }

    private void Pass()
    {
        lock (_gate) PassLocked();
    }

    private void PassLocked()
    {
        for (var i = 1; i <= _finished.Length; i++)
        {
            var next = (_turn + i) % _finished.Length;
            if (_finished[next]) continue;
            _turn = next;
            break;
        }
        var passed = _passed;
        _passed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        passed.SetResult();
    }
}
