using ServerlessFleet.Functions.Conventions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using ServerlessFleet.Functions.Hosting;
using ServerlessFleet.Shared.Devices;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Middleware;

/// <summary>
/// A device that keeps sending reports the API refuses (400 or 409 on a device route that writes: status, log,
/// inventory, telemetry, action results) is told to poll less often: each refusal in a row doubles its interval
/// (<see cref="Shared.Deployments.PollIntervals"/>), and a valid report ends that. The count is on the device row,
/// visible to operators, and costs a write only when it changes.
/// </summary>
public sealed class DeviceReportBackoff(DeviceStore devices, ILogger<DeviceReportBackoff> logger) : HttpFunctionMiddleware
{
    protected override async Task InvokeAsync(FunctionContext function, HttpContext http, FunctionExecutionDelegate next)
    {
        if (HttpMethods.IsGet(http.Request.Method) || DeviceCaller.Find(http) is not { } device)
        {
            await next(function);
            return;
        }
        var count = device.Principal.Device.InvalidReports;
        try
        {
            await next(function);
        }
        catch (Exception e) when (ErrorHandling.Classify(e).Item1 is ErrorCategory.Validation or ErrorCategory.Conflict)
        {
            await RecordAsync(device, count + 1);
            throw;
        }
        if (count > 0) await RecordAsync(device, 0);
    }

    private async Task RecordAsync(DeviceCaller device, int count)
    {
        try
        {
            await devices.SetInvalidReportsAsync(device.TenantId, device.Serial, count, CancellationToken.None);
        }
        catch (Exception e) when (e is Azure.RequestFailedException)
        {
            // The count only paces polling; the answer to the report stands without it.
            logger.LogWarning(e, "Could not record the invalid-report count of {Serial}", device.Serial);
        }
    }
}
