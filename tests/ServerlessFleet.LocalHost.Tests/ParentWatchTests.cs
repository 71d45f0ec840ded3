using System.Diagnostics;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Harness;

namespace ServerlessFleet.LocalHost.Tests;

/// <summary>What a watched helper started goes with it, also when the helper died on its own first (a host's worker).</summary>
public sealed class ParentWatchTests
{
    [Fact]
    public async Task Kill_ends_the_children_of_a_helper_that_already_exited()
    {
        // The helper starts a long-lived child, as the local host starts its worker, and then ends on its own.
        var start = new ProcessStartInfo("sh", ["-c", "sleep 300 & echo $!"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var watched = new Process { StartInfo = ParentWatch.Watched(start) };
        watched.Start();
        var child = int.Parse((await watched.StandardOutput.ReadLineAsync())!);
        await watched.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(Processes.Running(child), "the child outlives its helper until the watch is told to end it");

        ParentWatch.Kill(watched);

        await Eventually.WaitAsync(() => !Processes.Running(child), TimeSpan.FromSeconds(10), $"process {child} to end");
    }

    [Fact]
    public async Task A_helper_that_does_not_stop_after_its_starter_is_gone_is_killed_with_its_children()
    {
        using var starter = Process.Start(new ProcessStartInfo("sleep", ["1"]) { UseShellExecute = false })!;
        // The helper ignores SIGTERM, as a host stuck in its shutdown does in effect, and has a child of its own.
        var start = new ProcessStartInfo("sh", ["-c", "trap '' TERM; sleep 300 & echo $!; wait"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var watched = new Process { StartInfo = ParentWatch.Watched(start, starter.Id, TimeSpan.FromSeconds(1)) };
        watched.Start();
        var child = int.Parse((await watched.StandardOutput.ReadLineAsync())!);
        Assert.True(Processes.Running(child));

        await starter.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await Eventually.WaitAsync(() => !Processes.Running(child) && watched.HasExited, TimeSpan.FromSeconds(15), $"the watch to end the helper and process {child}");
    }
}
