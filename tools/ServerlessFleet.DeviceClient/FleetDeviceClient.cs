using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace ServerlessFleet.DeviceClient;

/// <summary>
/// A device talking to ServerlessFleet: signs its auth request, keeps its token, re-authenticates once when the
/// token is refused (expired or revoked), and offers the device API (poll, download and verify, report, log,
/// inventory, telemetry, action inbox). Calls that change nothing on failure throw <see cref="FleetApiException"/>.
/// </summary>
public sealed class FleetDeviceClient(HttpClient http, string tenantToken, string serial, DeviceKey key, JsonObject? identity = null)
{
    public const string SignatureHeader = "X-Fleet-Signature";
    private static readonly DeviceClientJson Json = DeviceClientJson.Default;

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

    /// <summary>200 with a token once the device is accepted or preauthorized; 401 while pending or rejected.</summary>
    public async Task<AuthAttempt> AuthenticateAsync(CancellationToken ct = default)
    {
        var body = AuthBody();
        using var response = await SendAuthAsync(body, Convert.ToBase64String(key.Sign(body)), ct);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var token = await response.Content.ReadFromJsonAsync(Json.AuthToken, ct) ?? throw new FleetApiException(response.StatusCode, null, "The token response was empty.");
            Token = token.Token;
            TokenExpiresAt = token.ExpiresAt;
        }
        return new AuthAttempt(response.StatusCode, Token, TokenExpiresAt, response.Headers.RetryAfter?.Delta);
    }

    /// <summary>Sends an arbitrary auth request (tampered bodies and foreign signatures are refused with 401).</summary>
    public async Task<HttpResponseMessage> SendAuthAsync(byte[] body, string signature, CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/device/v1/auth") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(SignatureHeader, signature);
        return await http.SendAsync(request, ct);
    }

    /// <summary>Asks for the deployment due for this device. Passing what it runs lets the server skip a release already installed.</summary>
    public async Task<PollResult> PollAsync(InstalledSoftware? installed = null, CancellationToken ct = default)
    {
        var query = new List<string>();
        if (installed?.ArtifactName is { } name) query.Add($"artifactName={Uri.EscapeDataString(name)}");
        if (installed?.ArtifactVersion is { } version) query.Add($"artifactVersion={Uri.EscapeDataString(version)}");
        if (installed?.DeviceType is { } type) query.Add($"deviceType={Uri.EscapeDataString(type)}");
        var path = "/api/device/v1/deployments/next" + (query.Count > 0 ? "?" + string.Join('&', query) : "");
        using var response = await SendAsync(HttpMethod.Get, path, ct: ct);
        await EnsureSuccessAsync(response, ct);
        if (response.StatusCode == HttpStatusCode.NoContent) return new PollResult(null, PollAfter(response), InboxSeq(response));
        var offer = await response.Content.ReadFromJsonAsync(Json.DeploymentOffer, ct) ?? throw new FleetApiException(response.StatusCode, null, "The deployment offer was empty.");
        return new PollResult(offer, TimeSpan.FromSeconds(offer.PollAfterSeconds), InboxSeq(response));
    }

    /// <summary>
    /// Downloads the offered artifact into <paramref name="destination"/>, hashing as it goes; throws
    /// <see cref="ArtifactVerificationException"/> unless size and sha256 match the offer. The link carries its own
    /// signature, so no device credential is sent to the storage account.
    /// </summary>
    public async Task DownloadAsync(OfferedArtifact artifact, Stream destination, CancellationToken ct = default)
    {
        using var response = await http.GetAsync(artifact.Uri, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
            throw new ArtifactVerificationException($"Downloading {artifact.Name} {artifact.Version} answered {(int)response.StatusCode}.");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[81920];
        long size = 0;
        for (int read; (read = await body.ReadAsync(buffer, ct)) > 0;)
        {
            size += read;
            if (size > artifact.Size) throw new ArtifactVerificationException($"{artifact.Name} {artifact.Version} is longer than the {artifact.Size} bytes offered.");
            hash.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer.AsMemory(0, read), ct);
        }
        if (size != artifact.Size) throw new ArtifactVerificationException($"{artifact.Name} {artifact.Version} is {size} bytes, {artifact.Size} were offered.");
        var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (!string.Equals(sha256, artifact.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ArtifactVerificationException($"{artifact.Name} {artifact.Version} has sha256 {sha256}, {artifact.Sha256} was offered.");
    }

    /// <summary>Reports a step of the status sequence (<see cref="DeploymentStatus"/>). 409 once the deployment was aborted or the report is final.</summary>
    public Task ReportStatusAsync(string deploymentId, string status, string? substate = null, CancellationToken ct = default) =>
        SendJsonAsync(HttpMethod.Put, $"/api/device/v1/deployments/{Uri.EscapeDataString(deploymentId)}/status", new StatusReport(status, substate), Json.StatusReport, ct);

    public Task UploadLogAsync(string deploymentId, IEnumerable<DeploymentLogMessage> messages, CancellationToken ct = default) =>
        SendJsonAsync(HttpMethod.Put, $"/api/device/v1/deployments/{Uri.EscapeDataString(deploymentId)}/log", new LogUpload(messages.ToArray()), Json.LogUpload, ct);

    /// <summary>Merges these attributes into the device's inventory; <c>device_type</c> also sets the device's type.</summary>
    public Task ReportInventoryAsync(IEnumerable<InventoryAttribute> attributes, CancellationToken ct = default) =>
        SendJsonAsync(HttpMethod.Patch, "/api/device/v1/inventory", attributes.ToArray(), Json.InventoryAttributeArray, ct);

    /// <summary>Sends up to 500 samples in one call; re-sending the same batch is harmless.</summary>
    public Task SendTelemetryAsync(IEnumerable<TelemetrySample> samples, CancellationToken ct = default) =>
        SendJsonAsync(HttpMethod.Post, "/api/device/v1/telemetry", new TelemetryBatch(samples.ToArray()), Json.TelemetryBatch, ct);

    /// <summary>Actions waiting for this device after <paramref name="afterSeq"/>, in sequence order.</summary>
    public async Task<IReadOnlyList<PendingAction>> GetActionsAsync(long afterSeq = 0, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/api/device/v1/actions?afterSeq={afterSeq.ToString(CultureInfo.InvariantCulture)}", ct: ct);
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadFromJsonAsync(Json.PendingActionArray, ct) ?? [];
    }

    /// <summary>Acknowledges an action; repeating the same result is harmless, contradicting it is 409.</summary>
    public Task ReportActionResultAsync(string actionId, bool succeeded, string? detail = null, CancellationToken ct = default) =>
        SendJsonAsync(HttpMethod.Post, $"/api/device/v1/actions/{Uri.EscapeDataString(actionId)}/result",
            new ActionResult(succeeded ? "succeeded" : "failed", detail), Json.ActionResult, ct);

    /// <summary>A device API call with the current token; on 401 the device re-authenticates once and retries.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? jsonBody = null, CancellationToken ct = default)
    {
        if (Token is null) await AuthenticateAsync(ct);
        var response = await SendOnceAsync(method, path, jsonBody, ct);
        if (response.StatusCode != HttpStatusCode.Unauthorized) return response;
        var again = await AuthenticateAsync(ct);
        if (again.Status != HttpStatusCode.OK) return response;
        response.Dispose();
        return await SendOnceAsync(method, path, jsonBody, ct);
    }

    /// <summary>One device API call with the current token, as it is.</summary>
    public Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, string path, byte[]? jsonBody, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, path);
        if (jsonBody is not null)
        {
            request.Content = new ByteArrayContent(jsonBody);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }
        if (Token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http.SendAsync(request, ct);
    }

    private async Task SendJsonAsync<T>(HttpMethod method, string path, T body, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await SendAsync(method, path, JsonSerializer.SerializeToUtf8Bytes(body, type), ct);
        await EnsureSuccessAsync(response, ct);
    }

    private static TimeSpan PollAfter(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Poll-After", out var values) && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromMinutes(5);

    private static long? InboxSeq(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Inbox-Seq", out var values) && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? seq
            : null;

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        ApiError? error = null;
        try { error = await response.Content.ReadFromJsonAsync(Json.ApiError, ct); }
        catch (JsonException) { }
        throw new FleetApiException(response.StatusCode, error?.Type, error?.Message ?? response.ReasonPhrase ?? "", error?.Errors);
    }
}
