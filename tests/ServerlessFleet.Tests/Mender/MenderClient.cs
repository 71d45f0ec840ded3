using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessFleet.DeviceClient;

namespace ServerlessFleet.Tests.Mender;

/// <summary>The Mender client releases whose requests the facade must take as they are.</summary>
public enum MenderFlavour
{
    /// <summary>Go client 3.5.3: Authorization "Bearer &lt;tenant token&gt;" on auth, chunked bodies, polls v2 then v1 POST then v1 GET.</summary>
    Go353,
    /// <summary>C++ client 4.0.7 / 5.0.5: Authorization "API_KEY" on auth, no tenant_token when empty, polls v1 GET only.</summary>
    Cpp,
}

/// <summary>A Mender client's requests, byte for byte where it matters (signed auth body, chunked bodies, snake_case).</summary>
public sealed class MenderClient(HttpClient http, MenderFlavour flavour, string mac, DeviceKey key, string tenantToken)
{
    public string Mac => mac;
    public string? Token { get; private set; }
    public List<string> PollsTried { get; } = [];

    public byte[] AuthBody()
    {
        var body = new JsonObject { ["id_data"] = new JsonObject { ["mac"] = mac }.ToJsonString(), ["pubkey"] = key.PublicKeyPem };
        if (flavour == MenderFlavour.Go353 || tenantToken.Length > 0) body["tenant_token"] = tenantToken;
        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }

    public async Task<HttpResponseMessage> AuthenticateAsync()
    {
        var body = AuthBody();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/devices/v1/authentication/auth_requests") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-MEN-Signature", Convert.ToBase64String(key.Sign(body)));
        // Not a credential, and must not be read as one.
        request.Headers.TryAddWithoutValidation("Authorization", flavour == MenderFlavour.Go353 ? $"Bearer {tenantToken}" : "API_KEY");
        var response = await http.SendAsync(request);
        Token = response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync() : null;
        return response;
    }

    public Task<HttpResponseMessage> PutInventoryAsync(object attributes) => SendAsync(HttpMethod.Put, "/api/devices/v1/inventory/device/attributes", attributes);

    /// <summary>The client's poll, with its fallbacks: the deployment id offered, or null for 204.</summary>
    public async Task<JsonElement?> PollAsync(string artifactName, string deviceType)
    {
        HttpResponseMessage response;
        if (flavour == MenderFlavour.Go353)
        {
            response = await Tried("POST v2", SendAsync(HttpMethod.Post, "/api/devices/v2/deployments/device/deployments/next",
                new { device_provides = new { artifact_name = artifactName, device_type = deviceType }, update_control_map = false }));
            if (response.StatusCode == HttpStatusCode.NotFound)
                response = await Tried("POST v1", SendAsync(HttpMethod.Post, "/api/devices/v1/deployments/device/deployments/next",
                    new { artifact_name = artifactName, device_type = deviceType }));
            if (response.StatusCode == HttpStatusCode.NotFound) response = await Tried("GET v1", GetNextAsync(artifactName, deviceType));
        }
        else response = await Tried("GET v1", GetNextAsync(artifactName, deviceType));
        if (response.StatusCode == HttpStatusCode.NoContent) return null;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    public Task<HttpResponseMessage> StatusAsync(string deploymentId, string status) =>
        SendAsync(HttpMethod.Put, $"/api/devices/v1/deployments/device/deployments/{deploymentId}/status", new { status });

    public Task<HttpResponseMessage> LogAsync(string deploymentId, params string[] lines) =>
        SendAsync(HttpMethod.Put, $"/api/devices/v1/deployments/device/deployments/{deploymentId}/log",
            new { messages = lines.Select(l => new { timestamp = DateTimeOffset.UtcNow, level = "error", message = l }) });

    private Task<HttpResponseMessage> GetNextAsync(string artifactName, string deviceType) =>
        SendAsync(HttpMethod.Get, $"/api/devices/v1/deployments/device/deployments/next?artifact_name={Uri.EscapeDataString(artifactName)}&device_type={Uri.EscapeDataString(deviceType)}", null);

    private async Task<HttpResponseMessage> Tried(string poll, Task<HttpResponseMessage> response)
    {
        PollsTried.Add(poll);
        return await response;
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
            // The Go client streams every body but the auth request: no Content-Length.
            request.Content = flavour == MenderFlavour.Go353 ? new StreamContent(new MemoryStream(bytes)) : new ByteArrayContent(bytes);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (flavour == MenderFlavour.Go353) request.Headers.TransferEncodingChunked = true;
        }
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http.SendAsync(request);
    }
}
