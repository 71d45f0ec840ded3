namespace ServerlessFleet.Functions.Conventions;

/// <summary>How much of a request body a function reads (1 MB unless its handler raises it, as artifact uploads do).</summary>
public sealed class RequestBodyLimit
{
    public long Bytes { get; set; } = FleetApp.DefaultMaxRequestBodyBytes;
}
