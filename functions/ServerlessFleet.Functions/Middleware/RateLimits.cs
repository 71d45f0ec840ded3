using ServerlessFleet.Functions.Conventions;
using System.Threading.RateLimiting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Middleware;

/// <summary>
/// Request budgets, applied after authentication so each caller spends its own: an API key, a device, or (for
/// anonymous functions such as device authentication) a client address (<see cref="ClientAddress"/>: the caller's, not
/// the host's). Budgets are counted per worker instance. Over budget → 429 <c>rate_limited</c> with <c>Retry-After</c>.
/// </summary>
public sealed class RateLimits(PartitionedRateLimiter<HttpContext> limiter) : HttpFunctionMiddleware
{
    public static PartitionedRateLimiter<HttpContext> CreateLimiter(RateLimitOptions limits) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            var (partition, permits) = Caller.Find(context) is { } caller
                ? ($"key:{caller.KeyId}:{caller.TenantId}", limits.ApiKeyPerMinute)
                : DeviceCaller.Find(context) is { } device
                    ? ($"device:{device.TenantId}:{device.Serial}", limits.DevicePerMinute)
                    : ($"anonymous:{ClientAddress.Of(context)}", limits.AnonymousPerMinute);
            return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            });
        });

    protected override async Task InvokeAsync(FunctionContext function, HttpContext http, FunctionExecutionDelegate next)
    {
        using var lease = limiter.AttemptAcquire(http);
        if (lease.IsAcquired)
        {
            await next(function);
            return;
        }
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(60);
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString();
        await ErrorResponses.WriteAsync(http, ErrorCategory.RateLimited, "Too many requests; retry after the time in Retry-After.");
        Responded(function);
    }
}
