using System.Net;
using System.Net.Http.Json;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Actions;

/// <summary>The tenant's bulk actions as a list: oldest first, each with its progress, filtered by status, and no other tenant's.</summary>
public sealed class ActionListTests() : TenantScopedTests("actlist")
{
    [Fact]
    public async Task Actions_are_listed_oldest_first_with_their_progress_and_filtered_by_status()
    {
        var devices = await TestDevices.SeedAdmittedAsync(Tenant, 2, "actlist");
        var first = await CreateAsync(new { type = "reboot", devices = devices.Select(d => d.Serial) });
        var second = await CreateAsync(new { type = "refresh", devices = new[] { devices[0].Serial } });
        await (await Owner.PostAsync($"/api/v1/actions/{second}:cancel", null)).AssertStatusAsync(HttpStatusCode.OK);

        var all = (await (await Owner.GetAsync("/api/v1/actions")).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
        var listed = (await all).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([first, second], listed.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(2, listed[0].GetProperty("progress").GetProperty("total").GetInt32());
        var canceled = await (await Owner.GetAsync("/api/v1/actions?status=canceled")).JsonAsync();
        Assert.Equal([second], canceled.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("id").GetString()));
        await (await Owner.GetAsync("/api/v1/actions?status=sideways")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");

        var stranger = await Tenant.Server.CreateTenantAsync("actlist-other");
        using var other = stranger.OwnerClient();
        Assert.Empty((await (await other.GetAsync("/api/v1/actions")).JsonAsync()).GetProperty("data").EnumerateArray());
    }

    private async Task<string> CreateAsync(object body) =>
        (await (await (await Owner.PostAsJsonAsync("/api/v1/actions", body)).AssertStatusAsync(HttpStatusCode.Accepted)).JsonAsync()).GetProperty("id").GetString()!;
}
