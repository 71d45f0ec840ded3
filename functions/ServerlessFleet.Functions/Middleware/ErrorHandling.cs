using ServerlessFleet.Functions.Conventions;
using System.Text.Json;
using Azure;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Errors;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Functions.Middleware;

/// <summary>
/// Maps every exception of an HTTP function to the error JSON: domain errors to their category, bad input detected by
/// the framework (malformed JSON, wrong types, oversize bodies) to 4xx, and anything else to a 500 without a stack
/// trace. A handler's bare error status (no body) gets the same JSON body.
/// </summary>
public sealed class ErrorHandling(ILogger<ErrorHandling> logger) : HttpFunctionMiddleware
{
    protected override async Task InvokeAsync(FunctionContext function, HttpContext http, FunctionExecutionDelegate next)
    {
        try
        {
            await next(function);
        }
        catch (Exception e) when (!http.Response.HasStarted && !(e is OperationCanceledException && http.RequestAborted.IsCancellationRequested))
        {
            var (category, message, errors) = Classify(e);
            if (category == ErrorCategory.Internal) logger.LogError(e, "Unhandled error in {Function}", function.FunctionDefinition.Name);
            else logger.LogInformation("Request failed with {Category}: {Message}", category, message);
            http.Response.Clear();
            if (category == ErrorCategory.Unavailable) http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString();
            if (e is FleetException { RetryAfterSeconds: { } retry }) http.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ErrorResponses.WriteAsync(http, category, message, errors);
            Responded(function);
            return;
        }
        var status = http.Response.StatusCode;
        if (status >= 400 && !http.Response.HasStarted && http.Response.ContentLength is null && string.IsNullOrEmpty(http.Response.ContentType))
        {
            await ErrorResponses.WriteAsync(http, ErrorCategories.FromStatusCode(status), ErrorResponses.DefaultMessage(status));
            Responded(function);
        }
    }

    private const int RetryAfterSeconds = 5;

    internal static (ErrorCategory, string, IReadOnlyDictionary<string, string[]>?) Classify(Exception e) => e switch
    {
        FleetException f => (f.Category, f.Message, f.Errors),
        BadHttpRequestException { StatusCode: 400 } b => BadInput.Describe(b),
        BadHttpRequestException b => (ErrorCategories.FromStatusCode(b.StatusCode), BadRequestMessage(b), null),
        JsonException j => BadInput.Describe(j),
        RequestFailedException { Status: 412 } => (ErrorCategory.PreconditionFailed, ErrorResponses.DefaultMessage(412), null),
        _ when StorageOutage.Is(e) => (ErrorCategory.Unavailable, "Storage is unavailable right now; retry after the time in Retry-After.", null),
        _ => (ErrorCategory.Internal, ErrorResponses.DefaultMessage(500), null),
    };

    private static string BadRequestMessage(BadHttpRequestException e) =>
        e.StatusCode == 413 ? ErrorResponses.DefaultMessage(413)
        : e.InnerException is JsonException json ? $"{e.Message} {json.Message}"
        : e.Message;
}
