using System.Text.RegularExpressions;
using Grpc.Net.Client;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.Logging.Abstractions;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>A Durable Task client on the local host's task-hub sidecar: what the worker's [DurableClient] talks to, reached from a test.</summary>
public static partial class TaskHubClient
{
    public static DurableTaskClient For(FleetServer server)
    {
        var address = Sidecar().Match(server.Host.RecentOutput).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(address), "The local host did not report its task-hub sidecar.");
        return new GrpcDurableTaskClient("tests", new GrpcDurableTaskClientOptions { Channel = GrpcChannel.ForAddress(address) }, NullLogger.Instance);
    }

    [GeneratedRegex(@"sidecar (http://[^ )]+)")]
    private static partial Regex Sidecar();
}
