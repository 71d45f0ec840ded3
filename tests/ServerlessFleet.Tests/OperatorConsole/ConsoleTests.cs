using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ServerlessFleet.Simulator;
using ServerlessFleet.Tests.Infrastructure;

namespace ServerlessFleet.Tests.OperatorConsole;

/// <summary>
/// The operator console in a real browser, through the local host and Azurite, with simulated devices polling: sign in
/// with a key, admit a device, upload a release, roll it out to three devices and watch it finish, roll it back, pause
/// and resume a bulk action, and see the API's errors and a refused key.
/// </summary>
public sealed class ConsoleTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task An_operator_rolls_out_a_release_and_steers_a_bulk_action_from_the_console()
    {
        var server = await FleetServer.Shared;
        var tenant = await server.CreateTenantAsync("console");
        using var stop = new CancellationTokenSource();
        var simulation = new Simulation(new SimulationOptions
        {
            BaseUrl = server.BaseAddress, ApiKey = tenant.OwnerKey, Devices = 3, PollInterval = TimeSpan.FromSeconds(1), HonourPollAfter = false,
            Duration = TimeSpan.FromMinutes(10), Prefix = "console", TelemetryPerHour = 3600, DownloadArtifacts = true,
        });
        var fleet = simulation.RunAsync(stop.Token);
        await simulation.Started;
        var serials = await SerialsAsync(tenant);
        // The release the fleet runs today, to roll back to.
        using (var owner = tenant.OwnerClient())
        using (var file = new MemoryStream(new byte[16 * 1024]))
            await (await owner.PostAsync("/api/v1/artifacts", Artifacts.ArtifactUploads.Form("console-fw", "1.0.0", file, "firmware", Simulation.DeviceType)))
                .AssertStatusAsync(HttpStatusCode.Created);
        // A device no one has admitted yet asks to join.
        var newcomer = await TestDevices.NewAsync(tenant, serial: "console-newcomer");
        Assert.Equal(HttpStatusCode.Unauthorized, (await newcomer.AuthenticateAsync()).Status);

        await using var browser = await ConsoleBrowser.LaunchAsync();
        var page = await browser.OpenAsync(server.BaseAddress);
        await page.GotoAsync("/console");
        await page.GetByRole(AriaRole.Textbox, new() { Name = "API key" }).FillAsync(tenant.OwnerKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        // Fleet: the simulated devices counted by status, and the newcomer admitted from the queue.
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = serials[0] })).ToBeVisibleAsync();
        var counts = page.GetByRole(AriaRole.List, new() { Name = "Devices by status" });
        await Assertions.Expect(counts).ToContainTextAsync("3accepted");
        await Assertions.Expect(counts).ToContainTextAsync("1pending");
        await page.GetByRole(AriaRole.Row, new() { Name = "console-newcomer" }).GetByRole(AriaRole.Button, new() { Name = "Accept" }).ClickAsync();
        await Assertions.Expect(counts).ToContainTextAsync("4accepted");
        Assert.Equal(HttpStatusCode.OK, (await newcomer.AuthenticateAsync()).Status);

        // A release, uploaded with its metadata.
        await page.GetByRole(AriaRole.Link, new() { Name = "Artifacts" }).ClickAsync();
        await page.GetByLabel("File (.mender or a native image)").SetInputFilesAsync(new FilePayload { Name = "console-fw.img", MimeType = "application/octet-stream", Buffer = new byte[48 * 1024] });
        await page.GetByLabel("Name").FillAsync("console-fw");
        await page.GetByLabel("Version").FillAsync("2.0.0");
        await page.GetByLabel("Device types (comma separated)").FillAsync(Simulation.DeviceType);
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Uploaded console-fw 2.0.0")).ToBeVisibleAsync();

        // A deployment to the three devices, watched live until it finishes.
        await page.GetByRole(AriaRole.Link, new() { Name = "Deployments" }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("console rollout");
        await page.GetByLabel("Release").SelectOptionAsync(new SelectOptionValue { Label = $"console-fw 2.0.0 ({Simulation.DeviceType})" });
        await page.GetByLabel("or devices (serials)").FillAsync(string.Join(", ", serials));
        await page.GetByRole(AriaRole.Button, new() { Name = "Start deployment" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Deployment console rollout" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("main p .status").First).ToHaveTextAsync("finished", new() { Timeout = (float)Patience.TotalMilliseconds });
        await Assertions.Expect(page.GetByRole(AriaRole.Progressbar, new() { Name = "All devices" })).ToHaveAttributeAsync("aria-valuenow", "3");
        await ConsoleBrowser.ScreenshotAsync(page, "deployment.png");

        // The API's refusal, shown with its message and request id: a finished deployment cannot be paused.
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        var error = page.GetByRole(AriaRole.Alert);
        await Assertions.Expect(error).ToContainTextAsync("409 conflict");
        await Assertions.Expect(error).ToContainTextAsync("Request id");

        // Rolled back to the release before, confirmed first: the devices that installed it install that one.
        await page.GetByLabel("Release to roll back to").SelectOptionAsync(new SelectOptionValue { Label = "console-fw 1.0.0" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Roll back…" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Deployment rollback of console rollout" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("main p .status").First).ToHaveTextAsync("finished", new() { Timeout = (float)Patience.TotalMilliseconds });
        await Assertions.Expect(page.GetByRole(AriaRole.Progressbar, new() { Name = "All devices" })).ToHaveAttributeAsync("aria-valuenow", "3");

        // A device: its release and the decisions behind it.
        await page.GetByRole(AriaRole.Link, new() { Name = serials[0] }).ClickAsync();
        await Assertions.Expect(page.Locator(".release")).ToHaveTextAsync("console-fw");
        await Assertions.Expect(page.Locator(".timeline")).ToContainTextAsync("installed");
        await ConsoleBrowser.ScreenshotAsync(page, "device.png");
        await page.GetByRole(AriaRole.Link, new() { Name = "Fleet", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Row, new() { Name = serials[0] })).ToContainTextAsync("console-fw");
        await ConsoleBrowser.ScreenshotAsync(page, "fleet.png");

        // A bulk action in batches of one: paused while batches remain, resumed, and confirmed by every device.
        await page.GetByRole(AriaRole.Link, new() { Name = "Bulk actions" }).ClickAsync();
        await page.GetByLabel("Type").SelectOptionAsync("reboot");
        await page.GetByLabel("or devices (serials)").FillAsync(string.Join(", ", serials));
        await page.GetByLabel("Batch size").FillAsync("1");
        await page.GetByLabel("Seconds between batches").FillAsync("10");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Action reboot" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        await Assertions.Expect(page.Locator("main p .status").First).ToHaveTextAsync("paused", new() { Timeout = (float)Patience.TotalMilliseconds });
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Assertions.Expect(page.Locator("main p .status").First).ToHaveTextAsync("succeeded", new() { Timeout = (float)Patience.TotalMilliseconds });
        await Assertions.Expect(page.GetByRole(AriaRole.Progressbar, new() { Name = "Confirmed" })).ToHaveAttributeAsync("aria-valuenow", "3");

        // Phone width: the fleet page fits without scrolling sideways.
        var phone = await browser.OpenAsync(server.BaseAddress, 390, 844);
        await phone.GotoAsync("/console");
        await phone.GetByRole(AriaRole.Textbox, new() { Name = "API key" }).FillAsync(tenant.OwnerKey);
        await phone.GetByRole(AriaRole.Textbox, new() { Name = "API key" }).PressAsync("Enter");
        await Assertions.Expect(phone.GetByRole(AriaRole.Link, new() { Name = serials[0] })).ToBeVisibleAsync();
        Assert.True(await phone.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"));
        // From the keyboard: the first stop is the skip link, then the sections; every field and button has a name.
        await phone.EvaluateAsync("document.activeElement?.blur()");
        await phone.Keyboard.PressAsync("Tab");
        Assert.Equal("Skip to content", await phone.EvaluateAsync<string>("document.activeElement.textContent"));
        await phone.Keyboard.PressAsync("Tab");
        Assert.Equal("Fleet", await phone.EvaluateAsync<string>("document.activeElement.textContent"));
        Assert.Equal(0, await phone.EvaluateAsync<int>(
            "[...document.querySelectorAll('main input, main select, main button')].filter(e => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim())).length"));

        // A key the API refuses leads back to the prompt, with the reason.
        await page.EvaluateAsync("sessionStorage.setItem('serverlessfleet.apiKey', 'not-a-key')");
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Dialog)).ToContainTextAsync("The key was refused");

        await stop.CancelAsync();
        await fleet;
    }

    private static async Task<List<string>> SerialsAsync(TestTenant tenant)
    {
        using var owner = tenant.OwnerClient();
        var devices = await (await owner.GetAsync("/api/v1/devices?sort=serial")).AssertStatusAsync(HttpStatusCode.OK);
        return (await devices.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").EnumerateArray().Select(d => d.GetProperty("serial").GetString()!).ToList();
    }
}
