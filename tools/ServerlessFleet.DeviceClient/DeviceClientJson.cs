using System.Text.Json;
using System.Text.Json.Serialization;

namespace ServerlessFleet.DeviceClient;

/// <summary>
/// Source-generated JSON for every body the client reads or writes, so it works in trimmed, AOT and file-based
/// programs where reflection-based serialization is off.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuthToken))]
[JsonSerializable(typeof(DeploymentOffer))]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(LogUpload))]
[JsonSerializable(typeof(InventoryAttribute[]))]
[JsonSerializable(typeof(TelemetryBatch))]
[JsonSerializable(typeof(PendingAction[]))]
[JsonSerializable(typeof(ActionResult))]
[JsonSerializable(typeof(ApiError))]
internal sealed partial class DeviceClientJson : JsonSerializerContext;
