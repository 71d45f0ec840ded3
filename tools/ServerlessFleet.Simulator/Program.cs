using System.ComponentModel;
using ServerlessFleet.Simulator;
using Spectre.Console;
using Spectre.Console.Cli;

var app = new CommandApp<SimulateCommand>();
app.Configure(config => config.SetApplicationName("simulator"));
return await app.RunAsync(args);

internal sealed class SimulateSettings : CommandSettings
{
    [CommandOption("--url <URL>"), Description("Base URL of the API (default http://127.0.0.1:7071)")]
    public string Url { get; init; } = "http://127.0.0.1:7071";

    [CommandOption("--key <KEY>"), Description("API key with fleet:manager (and registry:admin, fleet:deploy, notify:* for --rollout / --action); or FLEET_API_KEY")]
    public string? Key { get; init; }

    [CommandOption("--devices <N>"), Description("Simulated devices (default 10)")]
    public int Devices { get; init; } = 10;

    [CommandOption("--poll <SECONDS>"), Description("Poll interval when the server says nothing (default 30)")]
    public double PollSeconds { get; init; } = 30;

    [CommandOption("--jitter <PERCENT>"), Description("Spread of the poll interval either way (default 20)")]
    public double JitterPercent { get; init; } = 20;

    [CommandOption("--ignore-poll-after"), Description("Poll at --poll even when the server says X-Poll-After")]
    public bool IgnorePollAfter { get; init; }

    [CommandOption("--failures <PERCENT>"), Description("Share of installs that report failure")]
    public double FailurePercent { get; init; }

    [CommandOption("--silent <PERCENT>"), Description("Share of installs that start and never report again")]
    public double SilencePercent { get; init; }

    [CommandOption("--telemetry <PER_HOUR>"), Description("Telemetry batches per device and hour")]
    public double TelemetryPerHour { get; init; }

    [CommandOption("--inventory <PER_HOUR>"), Description("Inventory reports per device and hour")]
    public double InventoryPerHour { get; init; }

    [CommandOption("--duration <SECONDS>"), Description("How long devices run (default 60); a rollout or action ends it earlier once over")]
    public double DurationSeconds { get; init; } = 60;

    [CommandOption("--rollout"), Description("Upload an artifact and roll it out to the simulated devices in phases")]
    public bool Rollout { get; init; }

    [CommandOption("--phases <N>"), Description("Phases of the rollout (default 2)")]
    public int Phases { get; init; } = 2;

    [CommandOption("--action <TYPE>"), Description("Send this device action (e.g. reboot) to every simulated device")]
    public string? Action { get; init; }

    [CommandOption("--link-only"), Description("Check each artifact link (first byte) instead of downloading and verifying it")]
    public bool LinkOnly { get; init; }

    [CommandOption("--metric <TYPE>"), Description("Telemetry metric the devices report (default temperature, healthy values 35-45)")]
    public string Metric { get; init; } = "temperature";

    [CommandOption("--regression <PERCENT>"), Description("Share of updated devices that report --regressed-value afterwards (a bad release)")]
    public double RegressionPercent { get; init; }

    [CommandOption("--regressed-value <VALUE>"), Description("The value regressed devices report (default 95)")]
    public double RegressedValue { get; init; } = 95;

    [CommandOption("--health-gate <GATE>"), Description("Health gate of the rollout, e.g. temperature>80 (pauses when over 10 % of updated devices violate it)")]
    public string? HealthGate { get; init; }

    [CommandOption("--health-window <MINUTES>"), Description("How long each phase is watched (default 1)")]
    public double HealthWindowMinutes { get; init; } = 1;

    [CommandOption("--summary <FILE>"), Description("Write the summary as JSON to this file")]
    public string? Summary { get; init; }

    public override ValidationResult Validate() =>
        Devices is < 1 or > 100_000 ? ValidationResult.Error("--devices is 1 to 100000")
        : FailurePercent + SilencePercent > 100 ? ValidationResult.Error("--failures and --silent add up to at most 100")
        : Uri.TryCreate(Url, UriKind.Absolute, out _) ? ValidationResult.Success() : ValidationResult.Error("--url must be an absolute URL");
}

internal sealed class SimulateCommand : AsyncCommand<SimulateSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SimulateSettings s, CancellationToken cancellation)
    {
        var key = s.Key ?? Environment.GetEnvironmentVariable("FLEET_API_KEY");
        if (string.IsNullOrEmpty(key))
        {
            AnsiConsole.MarkupLine("[red]An API key is needed: --key or FLEET_API_KEY.[/]");
            return 2;
        }
        var simulation = new Simulation(new SimulationOptions
        {
            BaseUrl = new Uri(s.Url), ApiKey = key, Devices = s.Devices, PollInterval = TimeSpan.FromSeconds(s.PollSeconds), JitterPercent = s.JitterPercent,
            HonourPollAfter = !s.IgnorePollAfter, FailurePercent = s.FailurePercent, SilencePercent = s.SilencePercent, TelemetryPerHour = s.TelemetryPerHour,
            InventoryPerHour = s.InventoryPerHour, Duration = TimeSpan.FromSeconds(s.DurationSeconds), Rollout = s.Rollout, Phases = s.Phases, Action = s.Action,
            DownloadArtifacts = !s.LinkOnly, Metric = s.Metric, RegressionPercent = s.RegressionPercent, RegressedValue = s.RegressedValue,
            HealthGate = s.HealthGate, HealthWindowMinutes = s.HealthWindowMinutes,
        });
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        var run = simulation.RunAsync(cancel.Token);
        await AnsiConsole.Status().StartAsync("Onboarding devices…", async status =>
        {
            while (!run.IsCompleted)
            {
                var c = simulation.Counters;
                status.Status($"{simulation.Measurements.Requests:N0} requests, {simulation.Measurements.Errors} failed, {simulation.RequestsRetried:N0} retried · installed {c.Installed}, failed {c.Failed}, silent {c.Silent} · actions confirmed {c.Confirmed}");
                await Task.WhenAny(run, Task.Delay(1000));
            }
        });
        var summary = await run;
        Show(summary);
        if (s.Summary is { } file) await File.WriteAllTextAsync(file, Simulation.Json(summary));
        // Failed attempts that were retried to an answer are the fleet riding out an outage, not an error of the run.
        return summary.Errors <= summary.RequestsRetried ? 0 : 1;
    }

    private static void Show(SimulationSummary summary)
    {
        var table = new Table().AddColumns("route", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses");
        foreach (var r in summary.Routes)
            table.AddRow(Markup.Escape(r.Route), $"{r.Requests:N0}", $"{r.P50:0.0}", $"{r.P95:0.0}", $"{r.P99:0.0}", $"{r.Max:0.0}",
                string.Join(" ", r.ByStatus.Select(s => $"{s.Key}×{s.Value}")));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{summary.Devices} devices, {summary.Seconds:0.0} s: {summary.Requests:N0} requests ({summary.Requests / Math.Max(summary.Seconds, 0.001):0.0}/s), " +
            $"{summary.Errors} failed attempts, {summary.RequestsRetried:N0} retried (longest outage {summary.LongestOutageSeconds:0.0} s, {summary.DevicesWithOutage} devices saw one); " +
            $"installed {summary.Installed}, failed {summary.Failed}, silent {summary.Silent}; actions confirmed {summary.ActionsConfirmed}");
        if (summary.DeploymentId is not null)
            AnsiConsole.MarkupLine(Markup.Escape($"rollout {summary.DeploymentId}: {summary.DeploymentStatus}{(summary.DeploymentReason is { } why ? $" ({why})" : "")}"));
        if (summary.ActionId is not null) AnsiConsole.MarkupLine($"action {summary.ActionId}: {summary.ActionStatus}");
    }
}
