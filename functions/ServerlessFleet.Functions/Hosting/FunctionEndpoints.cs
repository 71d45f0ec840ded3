using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;
using ServerlessFleet.Functions.Conventions;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>
/// The declarations every feature uses: an HTTP route's scope next to the route, and queue/timer functions
/// mapped beside the HTTP routes, so one <c>…Api.cs</c> file shows all a feature exposes.
/// </summary>
public static class FunctionEndpoints
{
    private static readonly int[] ScopedErrors = [400, 401, 403, 404, 500];

    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.WithAccess(new ApiKeyAccess(scope), ScopedErrors);

    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithAccess(new ApiKeyAccess(null), ScopedErrors);

    public static TBuilder RequireBootstrapKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithAccess(new BootstrapAccess(), ScopedErrors);

    /// <summary>The route honours <c>Idempotency-Key</c> (see <see cref="IdempotencyKeys"/>).</summary>
    public static TBuilder AcceptIdempotencyKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint => endpoint.Metadata.Add(new IdempotentMetadata()));
        return builder;
    }

    public static TBuilder RequireDevice<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithAccess(new DeviceAccess(), [400, 401, 404, 409, 500]);

    public static TBuilder AllowAnonymousAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithAccess(new AnonymousAccess(), [500]);

    private static TBuilder WithAccess<TBuilder>(this TBuilder builder, AccessMetadata access, int[] errorStatuses)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            endpoint.Metadata.Add(access);
            foreach (var status in errorStatuses)
                endpoint.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(ErrorBody), ["application/json"]));
        });
        return builder;
    }

    /// <summary>A queue-triggered function: the host (or the local dispatcher) posts each message to <c>/{name}</c>.</summary>
    public static IEndpointConventionBuilder MapQueueFunction(this IEndpointRouteBuilder app, string name, string queueName,
        Func<QueueInvocation, IServiceProvider, CancellationToken, Task> handler) =>
        MapTrigger(app, new FunctionDefinition(name, TriggerKind.Queue, QueueName: queueName),
            (request, services, ct) => handler(QueueInvocation.From(request, "message"), services, ct));

    /// <summary>A timer-triggered function with an NCRONTAB schedule (six fields, seconds first).</summary>
    public static IEndpointConventionBuilder MapTimerFunction(this IEndpointRouteBuilder app, string name, string schedule,
        Func<TimerInvocation, IServiceProvider, CancellationToken, Task> handler) =>
        MapTrigger(app, new FunctionDefinition(name, TriggerKind.Timer, Schedule: schedule),
            (request, services, ct) => handler(TimerInvocation.From(request, "timer"), services, ct));

    private static IEndpointConventionBuilder MapTrigger(IEndpointRouteBuilder app, FunctionDefinition function,
        Func<InvocationRequest, IServiceProvider, CancellationToken, Task> invoke)
    {
        return app.MapPost("/" + function.Name, async (HttpContext context) =>
            {
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Functions." + function.Name);
                InvocationRequest? request;
                try
                {
                    request = await JsonSerializer.DeserializeAsync<InvocationRequest>(context.Request.Body, InvocationJson.Options, context.RequestAborted);
                }
                catch (JsonException e)
                {
                    return Results.Json(InvocationResponse.Failed($"Malformed invocation payload: {e.Message}"), InvocationJson.Options, statusCode: 400);
                }
                if (request is null) return Results.Json(InvocationResponse.Failed("Empty invocation payload."), InvocationJson.Options, statusCode: 400);
                try
                {
                    await invoke(request, context.RequestServices, context.RequestAborted);
                    return Results.Json(InvocationResponse.Succeeded(), InvocationJson.Options);
                }
                catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
                {
                    // A non-2xx answer is the host's signal to retry the message and, after maxDequeueCount, poison it.
                    logger.LogWarning(e, "Function {Function} failed", function.Name);
                    return Results.Json(InvocationResponse.Failed($"{e.GetType().Name}: {e.Message}"), InvocationJson.Options, statusCode: 500);
                }
            })
            .WithMetadata(new TriggerFunctionMetadata(function))
            .ExcludeFromDescription();
    }
}
