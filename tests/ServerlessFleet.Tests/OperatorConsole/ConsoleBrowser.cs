using Microsoft.Playwright;

namespace ServerlessFleet.Tests.OperatorConsole;

/// <summary>
/// Headless Chromium from Debian's <c>chromium</c> package, driven by Playwright (no browser download). Screenshots go
/// to <c>CONSOLE_SCREENSHOTS</c> when that names a folder.
/// </summary>
public sealed class ConsoleBrowser : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private ConsoleBrowser(IPlaywright playwright, IBrowser browser) => (_playwright, _browser) = (playwright, browser);

    public static async Task<ConsoleBrowser> LaunchAsync()
    {
        if (!File.Exists(Chromium))
            throw new InvalidOperationException($"The console tests drive Debian's Chromium at {Chromium}: apt-get install chromium (.ci/run does).");
        // Every expectation waits for its positive signal up to a minute: a busy machine answers slowly, never wrongly.
        Assertions.SetDefaultExpectTimeout(60_000);
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // A container has no sandbox, GPU or large /dev/shm; nothing may reach outside the machine.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run", "--disable-extensions"],
        });
        return new ConsoleBrowser(playwright, browser);
    }

    public async Task<IPage> OpenAsync(Uri baseAddress, int width = 1280, int height = 860)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(60_000);
        return await context.NewPageAsync();
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("CONSOLE_SCREENSHOTS") is not { Length: > 0 } folder) return;
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name), FullPage = false });
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
