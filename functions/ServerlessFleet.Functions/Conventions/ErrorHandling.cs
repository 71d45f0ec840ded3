using System.Text.Json;
using Azure;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Conventions;

/// <summary>
/// Maps every exception to the error JSON: domain errors to their category, bad input detected by the
/// framework (malformed JSON, wrong types, oversize bodies) to 4xx, and anything else to a 500 without a
/// stack trace.
/// </summary>
public sealed class ErrorHandling(RequestDelegate next, ILogger<ErrorHandling> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && !(e is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            var (category, message, errors) = Classify(e);
            if (category == ErrorCategory.Internal) logger.LogError(e, "Unhandled error");
            else logger.LogInformation("Request failed with {Category}: {Message}", category, message);
            context.Response.Clear();
            await ErrorResponses.WriteAsync(context, category, message, errors);
        }
    }

    private static (ErrorCategory, string, IReadOnlyDictionary<string, string[]>?) Classify(Exception e) => e switch
    {
        FleetException f => (f.Category, f.Message, f.Errors),
        BadHttpRequestException b => (ErrorCategories.FromStatusCode(b.StatusCode), BadRequestMessage(b), null),
        JsonException j => (ErrorCategory.Validation, $"The request body is not valid JSON: {j.Message}", null),
        RequestFailedException { Status: 412 } => (ErrorCategory.PreconditionFailed, ErrorResponses.DefaultMessage(412), null),
        _ => (ErrorCategory.Internal, ErrorResponses.DefaultMessage(500), null),
    };

    private static string BadRequestMessage(BadHttpRequestException e) =>
        e.StatusCode == 413 ? ErrorResponses.DefaultMessage(413)
        : e.InnerException is JsonException json ? $"{e.Message} {json.Message}"
        : e.Message;
}
