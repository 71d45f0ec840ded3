using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Groups;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.Devices;

/// <summary>A seeded fleet of 300 devices in its own tenant, shared by the list tests.</summary>
public sealed class SeededFleet : IAsyncLifetime
{
    public const int Count = 300;
    public static readonly DateTimeOffset SeenBase = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    public TestTenant Tenant { get; private set; } = null!;
    public IReadOnlyList<Spec> Devices { get; } = Enumerable.Range(0, Count).Select(Spec.For).ToList();

    public sealed record Spec(int I, string Serial, string? Group, string[] Tags, string Hardware, string Owner, string Name,
        string Release, int Battery, string Imei, int RamMb, string[] Langs, string Location, DateTimeOffset? LastSeen, string Status)
    {
        public static Spec For(int i) => new(i, $"dev-{i:D4}", (i % 3) switch { 0 => "lobby", 1 => "kiosk", _ => null },
            (i % 5 == 0 ? ["eu"] : Array.Empty<string>()).Concat(i % 7 == 0 ? ["vip"] : []).ToArray(),
            $"hw{i % 4}", $"owner-{i % 10}", $"Device {i}", $"rel-{i % 3}", i % 101, $"35{i:D13}", 512 * (1 + i % 4),
            ["en", i % 2 == 0 ? "de" : "fr"], i % 2 == 0 ? "north" : "south",
            i % 4 == 3 ? null : SeenBase.AddMinutes(i), i % 6 == 0 ? DeviceStatuses.Accepted : DeviceStatuses.NoAuth);
        public string GroupName => Group ?? GroupNames.Unassigned;
        public bool HasRefreshRate => I % 3 == 0;
    }

    public async Task InitializeAsync()
    {
        Tenant = await (await FleetServer.Shared).CreateTenantAsync("list");
        var services = Tenant.Server.Services;
        var store = services.GetRequiredService<DeviceStore>();
        var groups = services.GetRequiredService<GroupStore>();
        await groups.CreateAsync(Tenant.TenantId, "lobby", null, null, new Dictionary<string, string>(), default);
        await groups.CreateAsync(Tenant.TenantId, "kiosk", null, null, new Dictionary<string, string>(), default);
        await Parallel.ForEachAsync(Devices, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (d, ct) =>
        {
            await store.CreateAsync(Tenant.TenantId, new NewDevice(d.Serial, d.Name, d.Owner, d.Hardware, "screen", d.GroupName, d.Tags), ct);
            await store.UpdateAsync(Tenant.TenantId, d.Serial, device => AttributeUpdates.Upsert(device with { Status = d.Status }, [
                // Only some devices report a refresh rate, so "exists" has devices on both sides.
                .. d.HasRefreshRate ? [new DeviceAttribute("refresh_hz", 60, AttributeScope.Inventory)] : Array.Empty<DeviceAttribute>(),
                new DeviceAttribute("artifact_name", d.Release, AttributeScope.Inventory),
                new DeviceAttribute("battery_percent", d.Battery, AttributeScope.Inventory),
                new DeviceAttribute("imei", d.Imei, AttributeScope.Inventory),
                new DeviceAttribute("ram_mb", d.RamMb, AttributeScope.Inventory),
                new DeviceAttribute("langs", new JsonArray(d.Langs.Select(l => (JsonNode)l!).ToArray()), AttributeScope.Inventory),
                new DeviceAttribute("location", d.Location, AttributeScope.Tags),
            ]), null, ct);
            if (d.LastSeen is { } seen) await store.RecordSeenAsync(Tenant.TenantId, d.Serial, seen, ct);
        });
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

public sealed class DeviceListTests(SeededFleet fleet) : IClassFixture<SeededFleet>
{
    private IEnumerable<SeededFleet.Spec> All => fleet.Devices;

    /// <summary>Reads every page of a query (limit 40, so the unfiltered list spans 8 pages) and checks the page sizes.</summary>
    private async Task<List<JsonElement>> ReadAllAsync(string query, int limit = 40)
    {
        using var client = fleet.Tenant.OwnerClient();
        var items = new List<JsonElement>();
        var url = $"/api/v1/devices?limit={limit}{(query.Length > 0 ? "&" + query : "")}";
        while (true)
        {
            var body = await (await (await client.GetAsync(url)).AssertStatusAsync(HttpStatusCode.OK)).JsonAsync();
            var data = body.GetProperty("data").EnumerateArray().ToList();
            Assert.True(data.Count <= limit);
            items.AddRange(data);
            var next = body.GetProperty("nextPage").GetString();
            if (next is null) break;
            Assert.Equal(limit, data.Count);
            url = $"/api/v1/devices?{(query.Length > 0 ? query + "&" : "")}after={Uri.EscapeDataString(next)}";
        }
        return items;
    }

    private async Task AssertFilter(string query, Func<SeededFleet.Spec, bool> expected)
    {
        var serials = (await ReadAllAsync(query)).Select(d => d.GetProperty("serial").GetString()!).ToList();
        Assert.Equal(All.Where(expected).Select(d => d.Serial).Order(StringComparer.Ordinal), serials);
    }

    [Fact]
    public async Task Unfiltered_list_walks_forward_over_8_pages_and_back()
    {
        using var client = fleet.Tenant.OwnerClient();
        var pages = new List<(List<string> Serials, string? Prev)>();
        var url = "/api/v1/devices?limit=40";
        while (true)
        {
            var body = await (await client.GetAsync(url)).JsonAsync();
            pages.Add((body.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("serial").GetString()!).ToList(), body.GetProperty("prevPage").GetString()));
            var next = body.GetProperty("nextPage").GetString();
            if (next is null) break;
            url = $"/api/v1/devices?after={Uri.EscapeDataString(next)}";
        }
        Assert.Equal(8, pages.Count);
        Assert.Equal(All.Select(d => d.Serial), pages.SelectMany(p => p.Serials));

        // Back from the last page to the first with prevPage.
        var prev = pages[^1].Prev;
        for (var i = pages.Count - 2; i >= 0; i--)
        {
            var body = await (await client.GetAsync($"/api/v1/devices?before={Uri.EscapeDataString(prev!)}")).JsonAsync();
            Assert.Equal(pages[i].Serials, body.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("serial").GetString()!));
            prev = body.GetProperty("prevPage").GetString();
        }
        Assert.Null(prev);
    }

    [Fact] public Task Group() => AssertFilter("group=lobby", d => d.Group == "lobby");
    [Fact] public Task Unassigned_group() => AssertFilter("group=unassigned", d => d.Group is null);
    [Fact] public Task Tag() => AssertFilter("tag=vip", d => d.Tags.Contains("vip"));
    [Fact] public Task Tags_match_any() => AssertFilter("tag=vip&tag=eu", d => d.Tags.Contains("vip") || d.Tags.Contains("eu"));
    [Fact] public Task Hardware_versions_match_any() => AssertFilter("hardwareVersion=hw1&hardwareVersion=hw3", d => d.Hardware is "hw1" or "hw3");
    [Fact] public Task Release() => AssertFilter("release=rel-2", d => d.Release == "rel-2");
    [Fact] public Task Owner_refs() => AssertFilter("ownerRef=owner-1&ownerRef=owner-2", d => d.Owner is "owner-1" or "owner-2");
    [Fact] public Task Status() => AssertFilter("status=accepted", d => d.Status == DeviceStatuses.Accepted);
    [Fact] public Task Last_seen_window() => AssertFilter("lastSeenSince=2026-06-01T01:00:00Z&lastSeenUntil=2026-06-01T03:00:00Z",
        d => d.LastSeen >= SeededFleet.SeenBase.AddHours(1) && d.LastSeen <= SeededFleet.SeenBase.AddHours(3));
    [Fact] public Task Max_battery() => AssertFilter("maxBatteryPercent=20", d => d.Battery <= 20);
    [Fact] public Task Partial_search_on_all_fields() => AssertFilter("search=ice 1", d => d.Name.Contains("ice 1"));
    [Fact] public Task Partial_search_on_serial_is_case_insensitive() => AssertFilter("search=DEV-01&searchField=serial", d => d.Serial.StartsWith("dev-01"));
    [Fact] public Task Exact_search_on_imei() => AssertFilter($"search=35{42:D13}&searchType=exact&searchField=imei", d => d.I == 42);
    [Fact] public Task Exact_search_on_name_does_not_match_prefixes() => AssertFilter("search=Device 1&searchType=exact&searchField=name", d => d.I == 1);
    [Fact] public Task Attr_eq() => AssertFilter("attr.tags.location=eq:north", d => d.Location == "north");
    [Fact] public Task Attr_ne() => AssertFilter("attr.inventory.ram_mb=ne:512", d => d.RamMb != 512);
    [Fact] public Task Attr_in_on_array_values() => AssertFilter("attr.inventory.langs=in:fr,xx", d => d.Langs.Contains("fr"));
    [Fact] public Task Attr_nin() => AssertFilter("attr.inventory.artifact_name=nin:rel-0,rel-1", d => d.Release == "rel-2");
    [Fact] public Task Attr_gt_is_numeric() => AssertFilter("attr.inventory.ram_mb=gt:1024", d => d.RamMb > 1024);
    [Fact] public Task Attr_gte() => AssertFilter("attr.inventory.ram_mb=gte:1536", d => d.RamMb >= 1536);
    [Fact] public Task Attr_lt() => AssertFilter("attr.inventory.battery_percent=lt:10", d => d.Battery < 10);
    [Fact] public Task Attr_lte() => AssertFilter("attr.inventory.battery_percent=lte:10", d => d.Battery <= 10);
    [Fact] public Task Attr_exists_false() => AssertFilter("attr.inventory.refresh_hz=exists:false", d => !d.HasRefreshRate);
    [Fact] public Task Attr_exists_true() => AssertFilter("attr.inventory.refresh_hz=exists:true", d => d.HasRefreshRate);
    [Fact] public Task Attr_never_reported_exists_nowhere() => AssertFilter("attr.inventory.nothing=exists:true", _ => false);

    [Fact]
    public Task Combined_filters_all_apply() => AssertFilter(
        "group=lobby&hardwareVersion=hw0&hardwareVersion=hw2&maxBatteryPercent=60&attr.tags.location=eq:north&attr.inventory.ram_mb=lte:1536",
        d => d.Group == "lobby" && d.Hardware is "hw0" or "hw2" && d.Group == "lobby" && d.Battery <= 60 && d.Location == "north" && d.RamMb <= 1536);

    [Theory]
    [InlineData("createdAt")]
    [InlineData("-createdAt")]
    [InlineData("lastSeen")]
    [InlineData("-lastSeen")]
    public async Task Sorts_order_every_page_consistently(string sort)
    {
        var reference = await ReadAllAsync("sort=serial", 500);
        var field = sort.TrimStart('-');
        var descending = sort.StartsWith('-');
        var expected = reference
            .Select(d => (Serial: d.GetProperty("serial").GetString()!, Key: d.GetProperty(field).ValueKind == JsonValueKind.Null ? (DateTimeOffset?)null : d.GetProperty(field).GetDateTimeOffset()))
            .OrderBy(d => d.Key is null ? 1 : 0)
            .ThenBy(d => descending ? -(d.Key?.UtcTicks ?? 0) : d.Key?.UtcTicks ?? 0)
            .ThenBy(d => d.Serial, StringComparer.Ordinal)
            .Select(d => d.Serial);
        var sorted = (await ReadAllAsync($"sort={sort}", 70)).Select(d => d.GetProperty("serial").GetString()!);
        Assert.Equal(expected, sorted);
    }

    [Fact]
    public async Task Sorted_and_filtered_list_pages_back()
    {
        using var client = fleet.Tenant.OwnerClient();
        var first = await (await client.GetAsync("/api/v1/devices?limit=25&sort=-lastSeen&group=kiosk")).JsonAsync();
        var second = await (await client.GetAsync($"/api/v1/devices?sort=-lastSeen&group=kiosk&after={Uri.EscapeDataString(first.GetProperty("nextPage").GetString()!)}")).JsonAsync();
        var back = await (await client.GetAsync($"/api/v1/devices?sort=-lastSeen&group=kiosk&before={Uri.EscapeDataString(second.GetProperty("prevPage").GetString()!)}")).JsonAsync();
        Assert.Equal(first.GetProperty("data").ToString(), back.GetProperty("data").ToString());
    }

    [Theory]
    [InlineData("sort=name")]
    [InlineData("status=sleeping")]
    [InlineData("searchType=fuzzy&search=x")]
    [InlineData("attr.color.x=eq:1")]
    [InlineData("attr.inventory.x=like:1")]
    [InlineData("attr.inventory.x=exists:maybe")]
    [InlineData("lastSeenSince=yesterday")]
    [InlineData("maxBatteryPercent=lots")]
    public async Task Bad_filters_are_400(string query)
    {
        using var client = fleet.Tenant.OwnerClient();
        await (await client.GetAsync($"/api/v1/devices?{query}")).AssertErrorAsync(HttpStatusCode.BadRequest, "validation_error");
    }
}
