using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
using ServerlessFleet.Functions.Hosting;

namespace ServerlessFleet.Functions.OpenApi;

/// <summary>
/// The OpenAPI document (ASP.NET Core's generator) and the interactive reference page. Each operation states
/// its required scope in its description and in <c>x-required-scope</c>, read from the same metadata the
/// auth middleware enforces.
/// </summary>
public static class OpenApiSetup
{
    public const string DocumentRoute = "/api/openapi/{documentName}.json";

    public static IServiceCollection AddFleetOpenApi(this IServiceCollection services) =>
        services.AddOpenApi("v1", options =>
        {
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
                var access = context.Description.ActionDescriptor.EndpointMetadata.OfType<AccessMetadata>().FirstOrDefault();
                var requirement = access switch
                {
                    ApiKeyAccess { Scope: { } scope } => $"Requires scope `{scope}`.",
                    ApiKeyAccess => "Requires any valid API key.",
                    BootstrapAccess => "Requires the bootstrap key.",
                    DeviceAccess => "Requires a device token (from POST /api/device/v1/auth); API keys are refused.",
                    AnonymousAccess => "Anonymous.",
                    _ => null,
                };
                if (requirement is null) return Task.CompletedTask;
                operation.Description = string.IsNullOrEmpty(operation.Description) ? requirement : operation.Description + "\n\n" + requirement;
                operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
                operation.Extensions["x-required-scope"] = new JsonNodeExtension(JsonValue.Create(access switch
                {
                    ApiKeyAccess a => a.Scope ?? "authenticated",
                    BootstrapAccess => "bootstrap",
                    DeviceAccess => "device",
                    _ => "anonymous",
                }));
                if (access is not AnonymousAccess)
                    operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(access is DeviceAccess ? "deviceToken" : "apiKey", context.Document)] = [] }];
                return Task.CompletedTask;
            });
        });

    public static IEndpointRouteBuilder MapFleetOpenApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi(DocumentRoute).WithName("OpenApiDocument").AllowAnonymousAccess();
        app.MapScalarApiReference("/api/docs", options => options
                .WithTitle("ServerlessFleet API")
                .WithOpenApiRoutePattern(DocumentRoute))
            .AllowAnonymousAccess();
        return app;
    }
}
