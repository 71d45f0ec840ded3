using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ServerlessFleet.Functions;
using ServerlessFleet.Shared;
using ServerlessFleet.Shared.DeviceAuth;

namespace ServerlessFleet.Tests.Infra;

/// <summary>A Key Vault reference the platform could not resolve stays as its text; the app refuses it rather than sign with it.</summary>
public sealed class SecretSettingsTests
{
    private const string Unresolved = "@Microsoft.KeyVault(SecretUri=https://fleet-kv.vault.azure.net/secrets/bootstrap-key/)";

    [Theory]
    [InlineData("Fleet:BootstrapKey")]
    [InlineData("Fleet:PageTokenKey")]
    public void An_unresolved_reference_is_not_taken_for_a_secret(string setting)
    {
        using var services = FleetApp.BuildServices(Settings(setting, Unresolved));
        var refused = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<FleetOptions>>().Value);
        Assert.Contains($"{setting} is an unresolved Key Vault reference", refused.Message);
    }

    [Fact]
    public void An_unresolved_signing_key_is_refused_too()
    {
        using var services = FleetApp.BuildServices(Settings("Fleet:DeviceTokens:SigningKeys:0", Unresolved));
        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<DeviceTokenOptions>>().Value);
    }

    [Fact]
    public void Resolved_secrets_are_accepted()
    {
        using var services = FleetApp.BuildServices(Settings("Fleet:DeviceTokens:SigningKeys:0", "a-resolved-signing-key-0123456789"));
        Assert.Equal("a-resolved-signing-key-0123456789", services.GetRequiredService<IOptions<DeviceTokenOptions>>().Value.SigningKeys[0]);
        Assert.NotNull(services.GetRequiredService<IOptions<FleetOptions>>().Value.BootstrapKey);
    }

    private static Dictionary<string, string?> Settings(string key, string value) => new()
    {
        ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        ["Fleet:BootstrapKey"] = "a-resolved-bootstrap-key-0123456789",
        [key] = value,
    };
}
