using ServerlessFleet.Functions;
using ServerlessFleet.Functions.Hosting;

// `--write-storage-layout <file>` writes the tables, queues and containers the app declares (infra/storage-layout.json).
var layoutIndex = Array.IndexOf(args, "--write-storage-layout");
if (layoutIndex >= 0 && layoutIndex + 1 < args.Length)
{
    var app = FleetApp.Build([], b => b.Configuration["AzureWebJobsStorage"] ??= "UseDevelopmentStorage=true");
    File.WriteAllText(args[layoutIndex + 1], FleetApp.StorageLayoutJson(app.Services) + Environment.NewLine);
    return 0;
}

// `--write-function-app <folder>` writes one <FunctionName>/function.json per declared function and exits:
// the packaging step uses it so that the Functions host sees exactly the routes and triggers the code maps.
var writeIndex = Array.IndexOf(args, "--write-function-app");
if (writeIndex >= 0)
{
    if (writeIndex + 1 >= args.Length)
    {
        Console.Error.WriteLine("usage: ServerlessFleet.Functions --write-function-app <folder>");
        return 2;
    }
    var app = FleetApp.Build(args.Where((_, i) => i != writeIndex && i != writeIndex + 1).ToArray(),
        b => b.Configuration["AzureWebJobsStorage"] ??= "UseDevelopmentStorage=true");
    var catalog = app.Services.GetRequiredService<FunctionCatalog>();
    var written = FunctionJsonGenerator.WriteAll(catalog.Functions, args[writeIndex + 1]);
    Console.WriteLine($"Wrote {written.Count} function.json files to {args[writeIndex + 1]}");
    return 0;
}

FleetApp.Build(args).Run();
return 0;

public partial class Program;
