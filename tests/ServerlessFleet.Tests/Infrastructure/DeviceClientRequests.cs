using System.Text.Json;
using ServerlessFleet.DeviceClient;

namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>
/// Raw device calls with any body, malformed ones included, answered as they are: the tests assert status codes
/// and error bodies the library's typed calls turn into exceptions.
/// </summary>
public static class DeviceClientRequests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Task<HttpResponseMessage> SendAsync(this FleetDeviceClient device, HttpMethod method, string path, object body, CancellationToken ct = default) =>
        device.SendAsync(method, path, JsonSerializer.SerializeToUtf8Bytes(body, Json), ct);

    public static Task<HttpResponseMessage> SendOnceAsync(this FleetDeviceClient device, HttpMethod method, string path, object body, CancellationToken ct) =>
        device.SendOnceAsync(method, path, JsonSerializer.SerializeToUtf8Bytes(body, Json), ct);

    public static Task<HttpResponseMessage> PatchInventoryAsync(this FleetDeviceClient device, IEnumerable<(string Name, object Value)> attributes, CancellationToken ct = default) =>
        device.SendAsync(HttpMethod.Patch, "/api/device/v1/inventory", attributes.Select(a => new { name = a.Name, value = a.Value }).ToArray(), ct);

    public static Task<HttpResponseMessage> PostTelemetryAsync(this FleetDeviceClient device, IEnumerable<object> samples, CancellationToken ct = default) =>
        device.SendAsync(HttpMethod.Post, "/api/device/v1/telemetry", new { samples = samples.ToArray() }, ct);
}
