using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Auth;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Auth;

public sealed class ApiKeyAuthTests : IAsyncLifetime
{
    private TestTenant _tenant = null!;

    public async Task InitializeAsync() => _tenant = await (await FleetServer.Shared).CreateTenantAsync("auth");
    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Missing_key_is_401()
    {
        using var anonymous = _tenant.Server.Client();
        var response = await anonymous.GetAsync("/api/v1/api-keys");
        await response.AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
    }

    [Fact]
    public async Task Wrong_secret_for_a_real_key_id_is_401()
    {
        var keyId = _tenant.OwnerKey.Split('.')[0];
        using var client = _tenant.Server.Client($"{keyId}.not-the-secret");
        await (await client.GetAsync("/api/v1/api-keys")).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
    }

    [Fact]
    public async Task Revoked_key_is_401_from_then_on()
    {
        var key = await _tenant.CreateKeyAsync(Scopes.UserRead);
        using var client = _tenant.Server.Client(key);
        await (await client.GetAsync("/api/v1/api-keys")).AssertStatusAsync(HttpStatusCode.OK);

        using var owner = _tenant.OwnerClient();
        var revoke = await owner.DeleteAsync($"/api/v1/api-keys/{key.Split('.')[0]}");
        Assert.Equal("revoked", (await (await revoke.AssertStatusAsync(HttpStatusCode.OK)).JsonAsync()).GetProperty("status").GetString());

        await (await client.GetAsync("/api/v1/api-keys")).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
    }

    [Fact]
    public async Task Expired_key_is_401()
    {
        var store = _tenant.Server.Services.GetRequiredService<ApiKeyStore>();
        var expired = await store.CreateAsync(_tenant.TenantId, "old", [Scopes.UserRead], DateTimeOffset.UtcNow.AddSeconds(-1), "test", default);
        using var client = _tenant.Server.Client(expired.Secret);
        await (await client.GetAsync("/api/v1/api-keys")).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
    }

    [Fact]
    public async Task Key_without_the_routes_scope_is_403()
    {
        var key = await _tenant.CreateKeyAsync(Scopes.FleetAdmin);
        using var client = _tenant.Server.Client(key);
        var body = await (await client.GetAsync("/api/v1/api-keys")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        Assert.Contains("user:read", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Parent_scope_implies_its_children()
    {
        // account:owner ⊃ user:admin ⊃ user:read
        using var owner = _tenant.OwnerClient();
        await (await owner.GetAsync("/api/v1/api-keys")).AssertStatusAsync(HttpStatusCode.OK);
        var admin = await _tenant.CreateKeyAsync(Scopes.UserAdmin);
        using var adminClient = _tenant.Server.Client(admin);
        await (await adminClient.GetAsync("/api/v1/api-keys")).AssertStatusAsync(HttpStatusCode.OK);
        // …but a child never implies its parent.
        var reader = await _tenant.CreateKeyAsync(Scopes.UserRead);
        using var readerClient = _tenant.Server.Client(reader);
        var create = await readerClient.PostAsJsonAsync("/api/v1/api-keys", new { name = "x", scopes = new[] { Scopes.UserRead } });
        await create.AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task A_key_cannot_grant_scopes_it_does_not_hold()
    {
        var admin = await _tenant.CreateKeyAsync(Scopes.UserAdmin);
        using var client = _tenant.Server.Client(admin);
        var response = await client.PostAsJsonAsync("/api/v1/api-keys", new { name = "escalate", scopes = new[] { Scopes.AccountOwner } });
        await response.AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task A_key_cannot_revoke_a_key_with_scopes_it_does_not_hold()
    {
        using var userAdmin = _tenant.Server.Client(await _tenant.CreateKeyAsync(Scopes.UserAdmin));
        var fleetAdmin = await _tenant.CreateKeyAsync(Scopes.FleetAdmin);
        var reader = await _tenant.CreateKeyAsync(Scopes.UserRead);
        await (await userAdmin.DeleteAsync($"/api/v1/api-keys/{_tenant.OwnerKey.Split('.')[0]}")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await userAdmin.DeleteAsync($"/api/v1/api-keys/{fleetAdmin.Split('.')[0]}")).AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");
        // What it could have granted, it can revoke.
        await (await userAdmin.DeleteAsync($"/api/v1/api-keys/{reader.Split('.')[0]}")).AssertStatusAsync(HttpStatusCode.OK);
        using var owner = _tenant.OwnerClient();
        await (await owner.GetAsync("/api/v1/api-keys")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_last_owner_key_is_kept_until_another_owner_exists()
    {
        var ownerId = _tenant.OwnerKey.Split('.')[0];
        using var owner = _tenant.OwnerClient();
        await (await owner.DeleteAsync($"/api/v1/api-keys/{ownerId}")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");

        var successor = await _tenant.CreateKeyAsync(Scopes.AccountOwner);
        await (await owner.DeleteAsync($"/api/v1/api-keys/{ownerId}")).AssertStatusAsync(HttpStatusCode.OK);
        using var next = _tenant.Server.Client(successor);
        await (await next.DeleteAsync($"/api/v1/api-keys/{successor.Split('.')[0]}")).AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Two_owners_revoking_each_other_at_once_leave_one_owner()
    {
        // Through the API: both revocations sent together; one wins, the other is refused.
        var second = await _tenant.CreateKeyAsync(Scopes.AccountOwner);
        using var first = _tenant.OwnerClient();
        using var other = _tenant.Server.Client(second);
        var answers = await Task.WhenAll(first.DeleteAsync($"/api/v1/api-keys/{second.Split('.')[0]}"), other.DeleteAsync($"/api/v1/api-keys/{_tenant.OwnerKey.Split('.')[0]}"));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], answers.Select(a => a.StatusCode).Order());

        // Against the store, many rounds at once, so the two revocations overlap at the storage level.
        var store = _tenant.Server.Services.GetRequiredService<ApiKeyStore>();
        var rounds = await Task.WhenAll(Enumerable.Range(0, 25).Select(async _ =>
        {
            var tenantId = $"race-{Guid.NewGuid():n}";
            var owners = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => store.CreateAsync(tenantId, "owner", [Scopes.AccountOwner], null, "test", CancellationToken.None)));
            var revocations = await Task.WhenAll(owners.Select(async o =>
            {
                try { await store.RevokeAsync(tenantId, o.Key.KeyId, CancellationToken.None); return "revoked"; }
                catch (ServerlessFleet.Shared.Errors.FleetException e) when (e.Category == ServerlessFleet.Shared.Errors.ErrorCategory.Conflict) { return "refused"; }
            }));
            var keys = await store.ListAsync(tenantId, ServerlessFleet.Shared.Paging.PageRequest.First(10), CancellationToken.None);
            return (Revocations: string.Join(",", revocations.Order()), Working: keys.Items.Count(k => k.IsActive(DateTimeOffset.UtcNow)));
        }));
        Assert.All(rounds, r => Assert.Equal(("refused,revoked", 1), r));
    }

    [Fact]
    public async Task Other_tenants_keys_are_invisible_and_untouchable()
    {
        var other = await _tenant.Server.CreateTenantAsync("other");
        var otherKeyId = other.OwnerKey.Split('.')[0];
        using var client = _tenant.OwnerClient();

        var list = await (await client.GetAsync("/api/v1/api-keys?limit=500")).JsonAsync();
        Assert.DoesNotContain(list.GetProperty("data").EnumerateArray(), k => k.GetProperty("keyId").GetString() == otherKeyId);
        await (await client.DeleteAsync($"/api/v1/api-keys/{otherKeyId}")).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");

        using var otherClient = other.OwnerClient();
        await (await otherClient.GetAsync("/api/v1/api-keys")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Basic_and_XAuth_forms_are_accepted()
    {
        var keyId = _tenant.OwnerKey.Split('.')[0];
        var secret = _tenant.OwnerKey[(keyId.Length + 1)..];
        using var client = _tenant.Server.Client();

        var mason = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tenants/current");
        mason.Headers.TryAddWithoutValidation("Authorization", "basic " + _tenant.OwnerKey);
        var masonBody = await (await (await client.SendAsync(mason)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal(_tenant.TenantId, masonBody.GetProperty("tenantId").GetString());

        var standardBasic = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tenants/current");
        standardBasic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(_tenant.OwnerKey + ":")));
        await (await client.SendAsync(standardBasic)).AssertStatusAsync(HttpStatusCode.OK);

        var signage = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tenants/current");
        signage.Headers.Add("X-Auth", $"{keyId}:{secret}");
        await (await client.SendAsync(signage)).AssertStatusAsync(HttpStatusCode.OK);

        var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tenants/current");
        wrong.Headers.Add("X-Auth", $"{keyId}:wrong");
        await (await client.SendAsync(wrong)).AssertErrorAsync(HttpStatusCode.Unauthorized, "authentication_error");
    }

    [Fact]
    public async Task The_location_of_a_new_tenant_or_key_is_readable_by_its_creator()
    {
        using var bootstrap = _tenant.Server.Client(FleetServer.BootstrapKey);
        var tenantId = $"loc-{Guid.NewGuid():n}"[..20];
        var created = await (await bootstrap.PostAsJsonAsync("/api/v1/tenants", new { tenantId })).AssertStatusAsync(HttpStatusCode.Created);
        var tenant = await (await (await bootstrap.GetAsync(created.Headers.Location)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal(tenantId, tenant.GetProperty("tenantId").GetString());
        // A tenant's own key reads its tenant; another tenant's key finds nothing there.
        var ownerSecret = (await created.JsonAsync()).GetProperty("ownerKey").GetProperty("secret").GetString()!;
        using var owner = _tenant.Server.Client(ownerSecret);
        await (await owner.GetAsync(created.Headers.Location)).AssertStatusAsync(HttpStatusCode.OK);
        using var stranger = _tenant.OwnerClient();
        await (await stranger.GetAsync(created.Headers.Location)).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");

        var key = await (await owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "reader", scopes = new[] { Scopes.FleetRead } })).AssertStatusAsync(HttpStatusCode.Created);
        var read = await (await (await owner.GetAsync(key.Headers.Location)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        Assert.Equal("reader", read.GetProperty("name").GetString());
        Assert.False(read.TryGetProperty("secret", out _));
        await (await stranger.GetAsync(key.Headers.Location)).AssertErrorAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Secret_is_shown_once_and_stored_hashed()
    {
        using var owner = _tenant.OwnerClient();
        var created = await (await owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "once", scopes = new[] { Scopes.FleetRead } })).JsonAsync();
        var secret = created.GetProperty("secret").GetString()!;
        var keyId = created.GetProperty("key").GetProperty("keyId").GetString()!;

        var listed = await (await owner.GetAsync("/api/v1/api-keys?limit=500")).Content.ReadAsStringAsync();
        Assert.Contains(keyId, listed);
        Assert.DoesNotContain(secret.Split('.')[1], listed);

        var storage = _tenant.Server.Services.GetRequiredService<ServerlessFleet.Shared.Storage.FleetStorage>();
        var row = (await storage.Table(ApiKeyStore.TableName).GetEntityAsync<Azure.Data.Tables.TableEntity>(keyId, "key")).Value;
        Assert.DoesNotContain(row, kv => kv.Value is string s && s.Contains(secret.Split('.')[1]));
    }

    [Fact]
    public async Task Creating_tenants_needs_the_bootstrap_key()
    {
        using var owner = _tenant.OwnerClient();
        var response = await owner.PostAsJsonAsync("/api/v1/tenants", new { tenantId = "sneaky-tenant" });
        await response.AssertErrorAsync(HttpStatusCode.Forbidden, "forbidden");

        using var bootstrap = _tenant.Server.Client(FleetServer.BootstrapKey);
        var duplicate = await bootstrap.PostAsJsonAsync("/api/v1/tenants", new { tenantId = _tenant.TenantId });
        await duplicate.AssertErrorAsync(HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Invalid_key_requests_are_field_precise_400s()
    {
        using var owner = _tenant.OwnerClient();
        var response = await owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "", scopes = new[] { "fleet:everything" }, expiresAt = "2000-01-01T00:00:00Z" });
        var body = await response.AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
        var errors = body.GetProperty("errors");
        Assert.True(errors.TryGetProperty("name", out _));
        Assert.True(errors.TryGetProperty("scopes", out _));
        Assert.True(errors.TryGetProperty("expiresAt", out _));
    }
}
