using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Shared.DeviceAuth;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Conventions;

/// <summary>
/// Bad input on every route of the OpenAPI document, as a careless or hostile client sends it: strange path values,
/// wrong-typed and huge query values, broken and ambiguous JSON, wrong types and huge strings in every body field,
/// broken multipart, bad If-Match and Idempotency-Key headers. Every answer is below 500 and every error carries the
/// error JSON. (Requests the host itself refuses before the worker — a NUL in the path, a URL over its limit — are
/// the host's and are not sent.)
/// </summary>
public sealed class MalformedInputTests() : TenantScopedTests("fuzz")
{
    private static readonly string[] PathValues = ["x", new string('a', 300), "%E2%82%AC", "..", "%20", "a:b", "0", "-1", "%7B%7D"];
    private static readonly string[] QueryValues = ["", "abc", "-1", "99999999999999999999", "1.5", new string('q', 4000), "%01%02", "null", "true", "[]"];
    private static readonly string[] Bodies =
    [
        "", "{", "[]", "null", "\"text\"", "123", """{"a":1,"a":2}""", new string('[', 2000) + new string(']', 2000), "{\"x\":\"\u0001\u0002\"}",
        "{\"" + new string('k', 10_000) + "\":1}",
    ];

    [Fact]
    public async Task Every_route_answers_bad_input_with_4xx_and_the_error_json()
    {
        var server = Tenant.Server;
        var keys = new List<string>();
        for (var i = 0; i < 6; i++) keys.Add(await Tenant.CreateKeyAsync(Scopes.AccountOwner));
        var device = (await TestDevices.SeedAdmittedAsync(Tenant, 1, "fuzz-device"))[0];
        var deviceToken = server.Services.GetRequiredService<DeviceTokens>().Issue(Tenant.TenantId, device.Serial).Token;
        using var anonymous = server.Client();
        var document = await (await anonymous.GetAsync("/api/openapi/v1.json")).JsonAsync();

        var requests = new List<(string Access, Func<HttpRequestMessage> Build)>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        foreach (var operation in path.Value.EnumerateObject())
        {
            var method = new HttpMethod(operation.Name.ToUpperInvariant());
            var access = operation.Value.GetProperty("x-required-scope").GetString()!;
            var parameters = operation.Value.TryGetProperty("parameters", out var p) ? p.EnumerateArray().ToList() : [];
            var query = parameters.Where(q => q.GetProperty("in").GetString() == "query").Select(q => q.GetProperty("name").GetString()!).ToList();
            string Url(string value) => path.Name.Split('/').Select(s => s.StartsWith('{') ? s.Replace(s[..(s.IndexOf('}') + 1)], value) : s)
                .Aggregate((a, b) => a + "/" + b);

            foreach (var value in PathValues.Where(_ => path.Name.Contains('{')))
                requests.Add((access, () => new HttpRequestMessage(method, Url(value))));
            foreach (var name in query)
            foreach (var value in QueryValues)
                requests.Add((access, () => new HttpRequestMessage(method, $"{Url("x")}?{name}={value}")));
            if (query.Contains("after")) requests.Add((access, () => new HttpRequestMessage(method, $"{Url("x")}?after=not-a-token&before=nor-this")));
            if (operation.Value.TryGetProperty("requestBody", out var body))
            {
                var content = body.GetProperty("content");
                if (content.TryGetProperty("multipart/form-data", out _))
                    foreach (var form in new[] { "garbage", "--b\r\nbroken\r\n", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\ncut" })
                        requests.Add((access, () => new HttpRequestMessage(method, Url("x")) { Content = Multipart(form) }));
                foreach (var text in Bodies.Concat(WrongTypes(document, content)))
                    requests.Add((access, () => new HttpRequestMessage(method, Url("x")) { Content = new StringContent(text, Encoding.UTF8, "application/json") }));
            }
            if (method != HttpMethod.Get)
                foreach (var (header, value) in new[] { ("If-Match", "W/\"weak\""), ("If-Match", "garbage"), ("Idempotency-Key", new string('k', 200)), ("Idempotency-Key", "a\tb") })
                    requests.Add((access, () =>
                    {
                        var request = new HttpRequestMessage(method, Url("x")) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
                        request.Headers.TryAddWithoutValidation(header, value);
                        return request;
                    }));
        }
        Assert.True(requests.Count >= 1000, $"only {requests.Count} requests were generated");

        var failures = new ConcurrentBag<string>();
        var sent = 0;
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (entry, ct) =>
        {
            using var request = entry.Build();
            var credential = entry.Access switch
            {
                "anonymous" => null,
                "device" => deviceToken,
                "bootstrap" => FleetServer.BootstrapKey,
                _ => keys[Interlocked.Increment(ref sent) % keys.Count],
            };
            if (credential is not null) request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {credential}");
            var what = $"{request.Method} {Shorten(request.RequestUri!.ToString())} {Shorten(request.Content is null ? "" : await request.Content.ReadAsStringAsync(ct))}";
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if ((int)response.StatusCode >= 500) failures.Add($"{(int)response.StatusCode} for {what}: {Shorten(text)}");
            else if ((int)response.StatusCode >= 400 && !IsErrorJson(text, mender: request.RequestUri!.ToString().Contains("/api/devices/", StringComparison.Ordinal))) failures.Add($"{(int)response.StatusCode} without the error JSON for {what}: {Shorten(text)}");
        });
        Assert.True(failures.IsEmpty, $"{failures.Count} of {requests.Count} requests:\n{string.Join("\n", failures.Take(40))}");
    }

    /// <summary>The operation's JSON body with every property of the wrong type: strings as numbers, everything else as a huge string.</summary>
    private static IEnumerable<string> WrongTypes(JsonElement document, JsonElement content)
    {
        if (!content.TryGetProperty("application/json", out var json) || !json.TryGetProperty("schema", out var schema)) yield break;
        if (schema.TryGetProperty("$ref", out var reference))
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1]);
        if (!schema.TryGetProperty("properties", out var properties)) yield break;
        var names = properties.EnumerateObject().Select(p => p.Name).ToList();
        yield return JsonSerializer.Serialize(names.ToDictionary(n => n, _ => (object)12345));
        yield return JsonSerializer.Serialize(names.ToDictionary(n => n, _ => (object)new string('s', 100_000)));
        yield return JsonSerializer.Serialize(names.ToDictionary(n => n, _ => (object)new[] { new { nested = "\u0000" } }));
        // One field at a time holding an object with a key twice: free-form fields (params, identity) read it too.
        foreach (var name in names) yield return "{\"" + name + "\":{\"d\":1,\"d\":2}}";
    }

    private static StringContent Multipart(string body)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=b");
        return content;
    }

    /// <summary>The contract's error JSON; on the Mender-compatible routes, Mender's <c>{error, request_id}</c>.</summary>
    private static bool IsErrorJson(string text, bool mender)
    {
        try
        {
            using var body = JsonDocument.Parse(text);
            var root = body.RootElement;
            return mender
                ? root.TryGetProperty("error", out var error) && error.GetString() is { Length: > 0 } && root.TryGetProperty("request_id", out _)
                : root.TryGetProperty("type", out _) && root.TryGetProperty("message", out _) && root.TryGetProperty("requestId", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Shorten(string text) => text.Length > 160 ? text[..160] + "…" : text;
}
