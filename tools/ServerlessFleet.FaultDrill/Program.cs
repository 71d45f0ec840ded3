using System.ComponentModel;
using System.Text.Json;
using ServerlessFleet.FaultDrill;
using Spectre.Console;
using Spectre.Console.Cli;

var app = new CommandApp<DrillCommand>();
app.Configure(config => config.SetApplicationName("fault-drill"));
return await app.RunAsync(args);

internal sealed class DrillSettings : CommandSettings
{
    [CommandOption("--devices <N>"), Description("Simulated devices (default 60)")]
    public int Devices { get; init; } = 60;

    [CommandOption("--phases <N>"), Description("Phases of the rollout (default 3)")]
    public int Phases { get; init; } = 3;

    [CommandOption("--soak <SECONDS>"), Description("How long each phase but the last is watched (default 20)")]
    public double SoakSeconds { get; init; } = 20;

    [CommandOption("--storage-outage <SECONDS>"), Description("How long storage stays stopped (default 20)")]
    public double StorageOutageSeconds { get; init; } = 20;

    [CommandOption("--summary <FILE>"), Description("Write the report as JSON to this file")]
    public string? Summary { get; init; }

    public override ValidationResult Validate() =>
        Devices is < 3 or > 5000 ? ValidationResult.Error("--devices is 3 to 5000")
        : Phases < 1 || Phases > Devices ? ValidationResult.Error("--phases is 1 to --devices")
        : ValidationResult.Success();
}

internal sealed class DrillCommand : AsyncCommand<DrillSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, DrillSettings s, CancellationToken cancellation)
    {
        var drill = new FaultDrill(new FaultDrillOptions
        {
            Devices = s.Devices, Phases = s.Phases, Soak = TimeSpan.FromSeconds(s.SoakSeconds), StorageOutage = TimeSpan.FromSeconds(s.StorageOutageSeconds),
            Say = line => AnsiConsole.MarkupLine(Markup.Escape(line)),
        });
        var report = await drill.RunAsync(cancellation);
        Show(report);
        if (s.Summary is { } file)
            await File.WriteAllTextAsync(file, JsonSerializer.Serialize(report, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }), cancellation);
        return report.Passed ? 0 : 1;
    }

    private static void Show(DrillReport report)
    {
        var faults = new Table().AddColumns("fault", "outage s", "answers given before");
        foreach (var f in report.Faults) faults.AddRow(Markup.Escape(f.Fault), $"{f.OutageSeconds:0.0}", $"{f.AcknowledgedBefore:N0}");
        AnsiConsole.Write(faults);
        var ledger = new Table().AddColumns("acknowledged to devices", "n", "recorded by the platform", "n");
        var acknowledged = report.Acknowledged.ToList();
        var recorded = report.Recorded.ToList();
        for (var i = 0; i < Math.Max(acknowledged.Count, recorded.Count); i++)
            ledger.AddRow(i < acknowledged.Count ? acknowledged[i].Key : "", i < acknowledged.Count ? $"{acknowledged[i].Value:N0}" : "",
                i < recorded.Count ? recorded[i].Key : "", i < recorded.Count ? $"{recorded[i].Value:N0}" : "");
        AnsiConsole.Write(ledger);
        AnsiConsole.MarkupLine($"{report.Devices} devices, {report.Seconds:0} s; {report.RequestsRetried:N0} requests retried, longest device outage {report.LongestDeviceOutageSeconds:0.0} s");
        AnsiConsole.MarkupLine($"deployment {report.DeploymentStatus}, action {report.ActionStatus}; {report.Lost.Count} lost, {report.Duplicates.Count} duplicates");
        foreach (var lost in report.Lost) AnsiConsole.MarkupLine($"[red]lost:[/] {Markup.Escape(lost)}");
        foreach (var duplicate in report.Duplicates) AnsiConsole.MarkupLine($"[red]duplicate:[/] {Markup.Escape(duplicate)}");
        AnsiConsole.MarkupLine(report.Passed ? "[green]Nothing lost, nothing repeated.[/]" : "[red]The drill found losses or duplicates.[/]");
    }
}
