using System.Net;
using System.Text.Json.Nodes;
using ServerlessFleet.DeviceClient;

// Usage: example <base URL> <tenant token> <serial> <key file>
var (baseUrl, tenantToken, serial, keyFile) = (args[0], args[1], args[2], args[3]);

// A device keeps its key: a new key is a new identity for the operator to admit.
if (!File.Exists(keyFile))
{
    using var generated = DeviceKey.Generate(KeyAlgorithm.Ed25519);
    File.WriteAllText(keyFile, generated.ExportPrivateKeyPem());
}
using var key = DeviceKey.ImportPem(File.ReadAllText(keyFile));
using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
// The identity a device presents names its type, so the operator sees it from the first request on.
var device = new FleetDeviceClient(http, tenantToken, serial, key, new JsonObject { ["device_type"] = "example-board" });

// 1. Authenticate: 401 until an operator accepts or preauthorizes this device.
while ((await device.AuthenticateAsync()).Status != HttpStatusCode.OK)
{
    Console.WriteLine("waiting for admission");
    await Task.Delay(TimeSpan.FromSeconds(5));
}
var installed = new InstalledSoftware("base-image", "1.0", "example-board");
await device.ReportInventoryAsync([new("device_type", installed.DeviceType), new("artifact_name", installed.ArtifactName)]);

// 2. Poll at the pace the server asks for until an update is offered.
var poll = await device.PollAsync(installed);
while (poll.Deployment is null)
{
    await Task.Delay(poll.PollAfter);
    poll = await device.PollAsync(installed);
}
var offer = poll.Deployment;

// 3. Download and verify (size and sha256), reporting each step; never install bytes that fail verification.
var file = Path.Combine(Path.GetTempPath(), $"{offer.Artifact.Name}-{offer.Artifact.Version}.img");
try
{
    await device.ReportStatusAsync(offer.DeploymentId, DeploymentStatus.Downloading);
    await using (var target = File.Create(file))
        await device.DownloadAsync(offer.Artifact, target);
    await device.ReportStatusAsync(offer.DeploymentId, DeploymentStatus.Installing);
    // … write the image to the inactive partition here …
    await device.ReportStatusAsync(offer.DeploymentId, DeploymentStatus.Success);
    Console.WriteLine($"installed {offer.Artifact.Name} {offer.Artifact.Version} (sha256 {offer.Artifact.Sha256} verified)");
}
catch (ArtifactVerificationException e)
{
    await device.UploadLogAsync(offer.DeploymentId, [new(DateTimeOffset.UtcNow, "error", e.Message)]);
    await device.ReportStatusAsync(offer.DeploymentId, DeploymentStatus.Failure);
    Console.WriteLine($"refused {offer.Artifact.Name}: {e.Message}");
}
finally
{
    File.Delete(file);
}

// 4. Carry out waiting actions and confirm each one; the poll says whether there are any (X-Inbox-Seq).
foreach (var action in poll.HasNewActions(handledSeq: 0) ? await device.GetActionsAsync() : [])
{
    Console.WriteLine($"action {action.Seq}: {action.Type}");
    await device.ReportActionResultAsync(action.ActionId, succeeded: true, detail: $"{action.Type} done");
}
