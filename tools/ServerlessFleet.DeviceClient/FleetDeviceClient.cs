using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServerlessFleet.DeviceClient;

public sealed record AuthAttempt(HttpStatusCode Status, string? Token, DateTimeOffset? ExpiresAt);

/// <summary>
/// A device talking to ServerlessFleet: signs its auth request, keeps its token, re-authenticates once when
/// the token is refused (expired or revoked), and offers the device API calls.
/// </summary>
public sealed class FleetDeviceClient(HttpClient http, string tenantToken, string serial, DeviceKey key, JsonObject? identity = null)
{
    public const string SignatureHeader = "X-Fleet-Signature";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Serial => serial;
    public string? Token { get; private set; }
    public DateTimeOffset? TokenExpiresAt { get; private set; }

    /// <summary>Starts from a token obtained elsewhere (a device restoring its session, a simulator).</summary>
    public FleetDeviceClient UseToken(string token)
    {
        Token = token;
        return this;
    }

    /// <summary>The exact body the device sends; the signature covers these bytes.</summary>
    public byte[] AuthBody()
    {
        var id = identity?.DeepClone().AsObject() ?? [];
        id["serial"] = serial;
        return Encoding.UTF8.GetBytes(new JsonObject { ["identity"] = id, ["publicKey"] = key.PublicKeyPem, ["tenantToken"] = tenantToken }.ToJsonString());
    }

    public async Task<AuthAttempt> AuthenticateAsync(CancellationToken ct = default)
    {
        var body = AuthBody();
        var response = await SendAuthAsync(body, Convert.ToBase64String(key.Sign(body)), ct);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var token = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            Token = token.GetProperty("token").GetString();
            TokenExpiresAt = token.GetProperty("expiresAt").GetDateTimeOffset();
        }
        return new AuthAttempt(response.StatusCode, Token, TokenExpiresAt);
    }

    /// <summary>Sends an arbitrary auth request (tests use it for tampered bodies and foreign signatures).</summary>
    public async Task<HttpResponseMessage> SendAuthAsync(byte[] body, string signature, CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/device/v1/auth") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(SignatureHeader, signature);
        return await http.SendAsync(request, ct);
    }

    public Task<HttpResponseMessage> PatchInventoryAsync(IEnumerable<(string Name, object Value)> attributes, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Patch, "/api/device/v1/inventory", attributes.Select(a => new { name = a.Name, value = a.Value }).ToArray(), ct);

    public Task<HttpResponseMessage> PostTelemetryAsync(IEnumerable<object> samples, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "/api/device/v1/telemetry", new { samples = samples.ToArray() }, ct);

    /// <summary>A device API call with the current token; on 401 the device re-authenticates once and retries.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, CancellationToken ct = default)
    {
        if (Token is null) await AuthenticateAsync(ct);
        var response = await SendOnceAsync(method, path, body, ct);
        if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
        var again = await AuthenticateAsync(ct);
        return again.Status == HttpStatusCode.OK ? await SendOnceAsync(method, path, body, ct) : response;
    }

    public Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body, options: Json);
        if (Token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http.SendAsync(request, ct);
    }
}
