using Microsoft.Extensions.Options;
using ServerlessFleet.Shared;

namespace ServerlessFleet.Functions.Hosting;

/// <summary>Every problem of the Fleet settings, by name, in the start-up failure.</summary>
internal sealed class FleetOptionsValidation : IValidateOptions<FleetOptions>
{
    public ValidateOptionsResult Validate(string? name, FleetOptions options) =>
        options.Validate().ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
