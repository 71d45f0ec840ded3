using Azure;

namespace ServerlessFleet.Shared.Storage;

public static class StorageOutage
{
    /// <summary>
    /// Storage answered 5xx (or nothing at all: status 0, refused, timed out) through all its retries — an outage, not a
    /// bug. The SDK reports exhausted retries as an <see cref="AggregateException"/> of the attempts.
    /// </summary>
    public static bool Is(Exception e) => e switch
    {
        RequestFailedException r => r.Status is 0 or >= 500,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(Is),
        HttpRequestException or TimeoutException => true,
        _ => false,
    };
}
