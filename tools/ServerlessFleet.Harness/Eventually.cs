namespace ServerlessFleet.Harness;

/// <summary>Waits for an asynchronous outcome (a queue delivery, an orchestration step) instead of sleeping a fixed time.</summary>
public static class Eventually
{
    public static async Task<T> WaitAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var value = await probe();
            if (done(value)) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting for {what ?? "condition"}; last value: {value}");
            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }

    public static Task WaitAsync(Func<bool> condition, TimeSpan? timeout = null, string? what = null) =>
        WaitAsync(() => Task.FromResult(condition()), v => v, timeout, what);
}
