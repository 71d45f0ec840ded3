using Microsoft.Azure.Functions.Worker.Builder;
using ServerlessFleet.Functions;

// `--write-storage-layout <file>` writes the tables, queues and containers the app declares (infra/storage-layout.json).
var layoutIndex = Array.IndexOf(args, "--write-storage-layout");
if (layoutIndex >= 0 && layoutIndex + 1 < args.Length)
{
    File.WriteAllText(args[layoutIndex + 1], FleetApp.StorageLayoutJson() + Environment.NewLine);
    return 0;
}

FleetApp.Configure(FunctionsApplication.CreateBuilder(args)).Build().Run();
return 0;
