using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Audit;

public sealed class AuditLogTests() : TenantScopedTests("audit")
{
    [Fact]
    public async Task Each_mutation_is_recorded_with_changed_fields_only()
    {
        await (await Owner.PostAsJsonAsync("/api/v1/groups", new { name = "audited" })).AssertStatusAsync(HttpStatusCode.Created);
        await (await Owner.PostAsJsonAsync("/api/v1/devices", new { serial = "aud-1", hardwareVersion = "r1", name = "before" })).AssertStatusAsync(HttpStatusCode.Created);
        var request = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/devices/aud-1") { Content = new StringContent("{\"name\":\"after\"}", Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Request-Id", "audit-req-1");
        await (await Owner.SendAsync(request)).AssertStatusAsync(HttpStatusCode.OK);
        await (await Owner.PostAsJsonAsync("/api/v1/groups/audited/devices:move", new { devices = new[] { "aud-1" } })).AssertStatusAsync(HttpStatusCode.OK);

        var entries = (await (await Owner.GetAsync("/api/v1/audit-logs?objectId=aud-1")).JsonAsync()).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["device.move", "device.update", "device.create"], entries.Select(e => e.GetProperty("action").GetString()));

        var update = entries[1];
        Assert.Equal("audit-req-1", update.GetProperty("requestId").GetString());
        Assert.Equal(Tenant.OwnerKey.Split('.')[0], update.GetProperty("actor").GetProperty("keyId").GetString());
        var changes = update.GetProperty("changes");
        Assert.Equal("before", changes.GetProperty("name").GetProperty("before").GetString());
        Assert.Equal("after", changes.GetProperty("name").GetProperty("after").GetString());
        Assert.False(changes.TryGetProperty("hardwareVersion", out _));
        Assert.Equal("audited", entries[0].GetProperty("changes").GetProperty("group").GetProperty("after").GetString());

        var creates = (await (await Owner.GetAsync("/api/v1/audit-logs?action=group.create")).JsonAsync()).GetProperty("data");
        Assert.Equal("audited", Assert.Single(creates.EnumerateArray()).GetProperty("objectId").GetString());
    }

    [Fact]
    public async Task Csv_export_parses_and_matches_the_json()
    {
        for (var i = 0; i < 3; i++)
            await (await Owner.PostAsJsonAsync("/api/v1/devices", new { serial = $"csv-{i}", hardwareVersion = "r,1", name = $"quote \"{i}\"" })).AssertStatusAsync(HttpStatusCode.Created);
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/audit-logs?action=device.create");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var response = await (await Owner.SendAsync(request)).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);

        var rows = ParseCsv(await response.Content.ReadAsStringAsync());
        Assert.Equal(["id", "time", "actorKeyId", "action", "objectType", "objectId", "requestId", "changes"], rows[0]);
        var data = rows.Skip(1).ToList();
        Assert.Equal(["csv-2", "csv-1", "csv-0"], data.Select(r => r[5]));
        Assert.All(data, r => Assert.Equal("device.create", r[3]));
        var changes = JsonDocument.Parse(data[0][7]).RootElement;
        Assert.True(changes.TryGetProperty("name", out _), data[0][7]);
        Assert.Equal("quote \"2\"", changes.GetProperty("name").GetProperty("after").GetString());
    }

    [Fact]
    public async Task Audit_needs_audit_read()
    {
        using var fleet = Tenant.Server.Client(await Tenant.CreateKeyAsync("fleet:admin"));
        await (await fleet.GetAsync("/api/v1/audit-logs")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        using var auditor = Tenant.Server.Client(await Tenant.CreateKeyAsync("audit:read"));
        await (await auditor.GetAsync("/api/v1/audit-logs")).AssertStatusAsync(HttpStatusCode.OK);
        // Another tenant's log is not visible.
        var other = await Tenant.Server.CreateTenantAsync("audit-other");
        using var otherClient = other.OwnerClient();
        var entries = (await (await otherClient.GetAsync("/api/v1/audit-logs?limit=500")).JsonAsync()).GetProperty("data").EnumerateArray();
        Assert.DoesNotContain(entries, e => e.GetProperty("actor").GetProperty("tenantId").GetString() != other.TenantId);
    }

    /// <summary>RFC 4180: quoted fields, doubled quotes, commas and newlines inside quotes.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\n') { row.Add(field.ToString()); field.Clear(); rows.Add(row.ToArray()); row.Clear(); }
            else if (c != '\r') field.Append(c);
        }
        return rows;
    }
}
