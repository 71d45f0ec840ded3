using System.Diagnostics;
using System.Text.RegularExpressions;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Hosting;

/// <summary>The README's "First ten minutes" script, run as a new user pastes it, against the API.</summary>
public sealed partial class WalkthroughTests
{
    [Fact]
    public async Task The_first_ten_minutes_script_takes_a_device_from_enrolment_to_an_installed_update_and_a_confirmed_reboot()
    {
        var server = await FleetServer.Shared;
        var root = RepositoryRoot.Find();
        var readme = await File.ReadAllTextAsync(Path.Combine(root, "README.md"));
        var section = readme[readme.IndexOf("## First ten minutes", StringComparison.Ordinal)..];
        var script = BashBlock().Match(section);
        Assert.True(script.Success, "The walkthrough has a bash script.");

        var start = new ProcessStartInfo("bash", ["-c", script.Groups[1].Value])
        {
            WorkingDirectory = root,
            Environment =
            {
                ["API"] = server.BaseAddress.ToString().TrimEnd('/'),
                ["BOOTSTRAP_KEY"] = FleetServer.BootstrapKey,
                ["TENANT"] = $"walk-{Guid.NewGuid():n}"[..20],
            },
        };
        var (exit, printed) = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(4));
        Assert.True(exit == 0, printed);

        Assert.Contains("installed kiosk-os 2.0", printed);
        Assert.Contains("action 1: reboot", printed);
        Assert.Contains("\"serial\":\"kiosk-001\",\"status\":\"success\"", printed);
        Assert.Matches("\"serial\":\"kiosk-001\",\"seq\":1,\"status\":\"succeeded\"", printed);
        Assert.Contains("\"release\":\"kiosk-os\"", printed);
    }

    [GeneratedRegex("```bash\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
