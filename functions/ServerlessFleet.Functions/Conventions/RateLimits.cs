using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using ServerlessFleet.Functions.Auth;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>The <c>Fleet:RateLimits</c> settings: requests per minute per API key, per device, per anonymous client address.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Fleet:RateLimits";
    public int ApiKeyPerMinute { get; set; } = 1200;
    public int DevicePerMinute { get; set; } = 120;
    public int AnonymousPerMinute { get; set; } = 300;
}

/// <summary>
/// Request budgets, applied after authentication so each caller spends its own: an API key, a device, or (for
/// anonymous routes such as device authentication) a client address. Trigger invocations from the host are not
/// limited. Over budget → 429 <c>rate_limited</c> with <c>Retry-After</c>.
/// </summary>
public static class RateLimits
{
    public static IServiceCollection AddFleetRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var limits = configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() ?? new RateLimitOptions();
        return services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (context.GetEndpoint()?.Metadata.GetMetadata<TriggerFunctionMetadata>() is not null)
                    return RateLimitPartition.GetNoLimiter("trigger");
                var (partition, permits) = context.Items.Values.OfType<Caller>().FirstOrDefault() is { } caller
                    ? ($"key:{caller.KeyId}:{caller.TenantId}", limits.ApiKeyPerMinute)
                    : context.Items.Values.OfType<DeviceCaller>().FirstOrDefault() is { } device
                        ? ($"device:{device.TenantId}:{device.Serial}", limits.DevicePerMinute)
                        : ($"anonymous:{context.Connection.RemoteIpAddress}", limits.AnonymousPerMinute);
                return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = permits,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                });
            });
            options.OnRejected = async (rejected, ct) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(60);
                rejected.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString();
                await ErrorResponses.WriteAsync(rejected.HttpContext, ErrorCategory.RateLimited, "Too many requests; retry after the time in Retry-After.");
            };
        });
    }
}
