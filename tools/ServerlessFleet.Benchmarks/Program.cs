using ServerlessFleet.Benchmarks;

// Usage: dotnet run -c Release --project tools/ServerlessFleet.Benchmarks -- <scenario> [options]
//   actions [devices=10000]
//   costs [devices=100]   (storage requests and executions per device operation; cost of 10k/100k/1M devices)
//   deployments [devices=10000] [--counted]   (--counted: storage through counting taps, operations vs raw time)
//   polls [devices=1000] [seconds=20]
//   steady [devices=10000] [rolloutDevices=10000] [secondsPerStep=8] [rolloutPollSeconds=60; 0: the defaults]
//          (highest poll rate held with p99 < 100 ms, vs raw point reads; again while a rollout runs)
var scenario = args.FirstOrDefault() ?? "polls";
int Arg(int index, int fallback) => args.Length > index && int.TryParse(args[index], out var v) ? v : fallback;

try
{
    switch (scenario)
    {
        case "actions":
            await ActionBenchmark.RunAsync(Arg(1, 10_000));
            break;
        case "polls":
            await PollBenchmark.RunAsync(Arg(1, 1000), Arg(2, 20));
            break;
        case "steady":
            await SteadyStateBenchmark.RunAsync(Arg(1, 10_000), Arg(2, 10_000), Arg(3, 8), Arg(4, 60));
            break;
        case "costs":
            await CostBenchmark.RunAsync(Arg(1, 100));
            break;
        case "deployments":
            await DeploymentBenchmark.RunAsync(Arg(1, 10_000), args.Contains("--counted"));
            break;
        default:
            Console.Error.WriteLine($"Unknown scenario '{scenario}'. Scenarios: polls, steady, costs, actions, deployments");
            return 2;
    }
}
catch (Exception e) when (e is TimeoutException or BenchmarkFailedException)
{
    // A benchmark that cannot reach the state it measures, or loses what it measures, fails with what it saw instead
    // of waiting forever or printing figures of a host that is gone.
    Console.Error.WriteLine($"benchmark failed: {e.Message}");
    return 1;
}
return 0;

/// <summary>What a benchmark measures went away under it (the local host exited): the figures after that would be of nothing.</summary>
internal sealed class BenchmarkFailedException(string message) : Exception(message);
