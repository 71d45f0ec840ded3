using ServerlessFleet.Functions.Middleware;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Azure.Functions.Worker;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
using ServerlessFleet.Functions.Conventions;
using ServerlessFleet.Functions.Hosting;

namespace ServerlessFleet.Functions.OpenApi;

/// <summary>
/// The OpenAPI document (ASP.NET Core's generator, fed with the functions by <see cref="FunctionHandlers"/>)
/// and the interactive reference page, both served by anonymous functions. Each operation states its required scope in
/// its description and in <c>x-required-scope</c>, read from the same attribute the auth middleware enforces.
/// </summary>
public static class OpenApiSetup
{
    public const string DocumentRoute = "/api/openapi/{documentName}.json";

    public static IServiceCollection AddFleetOpenApi(this IServiceCollection services)
    {
        // The generator reads the application's endpoint data source; in the worker that is the HTTP functions.
        services.AddSingleton<EndpointDataSource>(sp => sp.GetRequiredService<FunctionHandlers>());
        services.AddSingleton(sp =>
        {
            var endpoints = new EmbeddedEndpoints(sp);
            endpoints.MapOpenApi(DocumentRoute);
            endpoints.MapScalarApiReference("/api/docs", options => options.WithTitle("ServerlessFleet API").WithOpenApiRoutePattern(DocumentRoute));
            return endpoints;
        });
        return services.AddOpenApi("v1", options =>
        {
            options.AddSchemaTransformer((schema, _, _) =>
            {
                ClientFriendly(schema);
                return Task.CompletedTask;
            });
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "ServerlessFleet API",
                    Version = "v1",
                    Description = "Device-fleet management and over-the-air updates. Authenticate with `Authorization: Bearer <api-key>` " +
                                  "(also `Authorization: basic <api-key>` or `X-Auth: <keyId>:<secret>`). Errors are " +
                                  "`{type, message, requestId, errors?}`. Lists page with `limit`/`after`/`before`.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API key created with POST /api/v1/api-keys.",
                };
                document.Components.SecuritySchemes["deviceToken"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "A device token from POST /api/device/v1/auth.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                var access = metadata.OfType<AccessAttribute>().FirstOrDefault();
                var requirement = access switch
                {
                    RequireScopeAttribute scoped => $"Requires scope `{scoped.Scope}`.",
                    RequireApiKeyAttribute => "Requires any valid API key.",
                    RequireBootstrapKeyAttribute => "Requires the bootstrap key.",
                    RequireDeviceAttribute => "Requires a device token (from POST /api/device/v1/auth); API keys are refused.",
                    AllowAnonymousAccessAttribute => "Anonymous.",
                    _ => null,
                };
                if (requirement is null) return Task.CompletedTask;
                operation.Description = string.IsNullOrEmpty(operation.Description) ? requirement : operation.Description + "\n\n" + requirement;
                operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
                operation.Extensions["x-required-scope"] = new JsonNodeExtension(JsonValue.Create(access switch
                {
                    RequireScopeAttribute scoped => scoped.Scope,
                    RequireApiKeyAttribute => "authenticated",
                    RequireBootstrapKeyAttribute => "bootstrap",
                    RequireDeviceAttribute => "device",
                    _ => "anonymous",
                }));
                foreach (var header in metadata.OfType<RequestHeaderAttribute>())
                    AddHeader(operation, header.Name, header.Description, header.Required);
                if (metadata.OfType<AcceptIdempotencyKeyAttribute>().Any())
                    AddHeader(operation, IdempotencyKeys.Header, "Repeating a request with the same key and body returns the original response (kept 24 hours).", false);
                if (access is not AllowAnonymousAccessAttribute)
                    operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(access is RequireDeviceAttribute ? "deviceToken" : "apiKey", context.Document)] = [] }];
                return Task.CompletedTask;
            });
        });
    }

    /// <summary>
    /// What client generators trip over: a property that may be null is optional (records make every constructor
    /// parameter required), and a number is a number (lenient reading of numbers from strings is not part of the contract).
    /// </summary>
    private static void ClientFriendly(OpenApiSchema schema)
    {
        if (schema.Properties is { } properties && schema.Required is { Count: > 0 } required)
            foreach (var (name, property) in properties)
                if (property.Type is { } type && type.HasFlag(JsonSchemaType.Null)) required.Remove(name);
        if (schema.Type is { } numeric && numeric.HasFlag(JsonSchemaType.String) && (numeric.HasFlag(JsonSchemaType.Integer) || numeric.HasFlag(JsonSchemaType.Number)))
        {
            schema.Type = numeric & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
    }

    private static void AddHeader(OpenApiOperation operation, string name, string description, bool required)
    {
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = name,
            In = ParameterLocation.Header,
            Description = description,
            Required = required,
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        });
    }

    [Function("OpenApiDocument"), Tags("Operations"), AllowAnonymousAccess, HandledBy(nameof(ServeAsync)), ExcludeFromDescription]
    [EndpointSummary("This OpenAPI 3.1 document")]
    public static Task<IResult> OpenApiDocument([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/openapi/{documentName}.json")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    [Function("ApiReference"), Tags("Operations"), AllowAnonymousAccess, HandledBy(nameof(ServeAsync)), ExcludeFromDescription]
    [EndpointSummary("The interactive API reference (Scalar)")]
    public static Task<IResult> ApiReference([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/docs/{*path}")] HttpRequest req) =>
        FunctionHandlers.RunAsync(req);

    private static async Task ServeAsync(HttpContext context, EmbeddedEndpoints endpoints)
    {
        if (!await endpoints.TryServeAsync(context)) context.Response.StatusCode = StatusCodes.Status404NotFound;
    }
}
