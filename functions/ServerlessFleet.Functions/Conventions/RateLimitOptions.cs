namespace ServerlessFleet.Functions.Conventions;

/// <summary>The <c>Fleet:RateLimits</c> settings: requests per minute per API key, per device, per anonymous client address.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Fleet:RateLimits";
    public int ApiKeyPerMinute { get; set; } = 1200;
    public int DevicePerMinute { get; set; } = 120;
    public int AnonymousPerMinute { get; set; } = 300;
}
