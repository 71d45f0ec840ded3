using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessFleet.DevStorage;
using ServerlessFleet.Functions;

namespace ServerlessFleet.Tests.Infra;

/// <summary>Everything about the Bicep that can be checked offline: lint, build, and what the ARM output contains.</summary>
public sealed class BicepTests
{
    private static readonly string InfraDir = Path.Combine(RepositoryRoot.Find(), "infra");
    /// <summary>main.bicep built once for the checks that read its ARM output.</summary>
    private static readonly Lazy<(int Exit, string Out, string Err)> MainArm = new(() => Run("build", "main.bicep", "--stdout"));

    private static string Bicep()
    {
        var path = typeof(BicepTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepPath").Value!;
        Assert.True(File.Exists(path), $"The Bicep CLI was not restored at {path}");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute);
        return path;
    }

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var start = new ProcessStartInfo(Bicep()) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = InfraDir };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["BICEP_TRACING_ENABLED"] = "false";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    public static TheoryData<string> BicepFiles() =>
        new(Directory.GetFiles(InfraDir, "*.bicep*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(InfraDir, f)).Order());

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public void Every_file_lints_and_builds_without_warnings(string file)
    {
        // A build runs the linter too and writes its warnings where it writes errors: one run checks both.
        var build = file.EndsWith(".bicepparam") ? Run("build-params", file, "--stdout") : Run("build", file, "--stdout");
        Assert.True(build.Exit == 0 && build.Err.Trim().Length == 0, $"bicep build {file}: {build.Err}");
        Assert.NotNull(JsonNode.Parse(build.Out));
    }

    [Fact]
    public void Arm_output_has_the_dotnet_isolated_app_identity_roles_and_key_vault_references()
    {
        var build = MainArm.Value;
        Assert.Equal(0, build.Exit);
        var arm = JsonNode.Parse(build.Out)!;
        var resources = Resources(arm).ToList();

        var app = resources.Single(r => r["type"]!.GetValue<string>() == "Microsoft.Web/sites");
        Assert.Equal("UserAssigned", app["identity"]!["type"]!.GetValue<string>());
        Assert.NotNull(app["properties"]!["keyVaultReferenceIdentity"]);
        Assert.True(app["properties"]!["httpsOnly"]!.GetValue<bool>());
        Assert.Contains("'dotnet-isolated'", app["properties"]!["functionAppConfig"]!.ToString());
        Assert.Contains("'10.0'", app["properties"]!["functionAppConfig"]!.ToString());
        var template = build.Out;
        Assert.Contains("\"name\": \"FUNCTIONS_WORKER_RUNTIME\",\n", template.Replace("\r", ""));
        Assert.Contains("\"value\": \"dotnet-isolated\"", template);
        Assert.DoesNotContain("\"value\": \"custom\"", template);
        foreach (var secret in new[] { "Fleet__BootstrapKey", "Fleet__DeviceTokens__SigningKeys__0", "Fleet__PageTokenKey" })
            Assert.Contains(secret, template);
        Assert.Contains("@Microsoft.KeyVault(SecretUri=", template);

        var roles = resources.Where(r => r["type"]!.GetValue<string>() == "Microsoft.Authorization/roleAssignments").ToList();
        Assert.Equal(3, roles.Count); // the storage loop (3 roles), Key Vault Secrets User (app), Secrets Officer (deployment script)
        // Blob Data Owner (the host's own blobs need it), Queue and Table Data Contributor, Secrets User, Secrets Officer.
        foreach (var role in new[] { "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "974c5e8b-45b9-4653-ba55-5f855dd0fb88", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
                     "4633458b-17de-408a-b874-0445c86b69e6", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7" })
            Assert.Contains(role, template);

        var storage = resources.Single(r => r["type"]!.GetValue<string>() == "Microsoft.Storage/storageAccounts" && r["properties"] is not null);
        Assert.Equal("TLS1_2", storage["properties"]!["minimumTlsVersion"]!.GetValue<string>());
        Assert.False(storage["properties"]!["allowBlobPublicAccess"]!.GetValue<bool>());
        Assert.Contains(resources, r => r["type"]!.GetValue<string>() == "Microsoft.KeyVault/vaults");
        Assert.Contains(resources, r => r["type"]!.GetValue<string>() == "Microsoft.Insights/components");
        Assert.Contains(resources, r => r["type"]!.GetValue<string>() == "Microsoft.OperationalInsights/workspaces");
        Assert.NotNull(arm["outputs"]!["apiBaseUrl"]);
    }

    [Fact]
    public void The_app_is_created_after_its_roles_and_redeploying_keeps_every_secret()
    {
        var build = MainArm.Value;
        Assert.Equal(0, build.Exit);
        var arm = JsonNode.Parse(build.Out)!;
        var deployments = Resources(arm).Where(r => r["type"]!.GetValue<string>() == "Microsoft.Resources/deployments")
            .ToDictionary(r => r["name"]!.GetValue<string>(), r => r);
        // The app's identity exists, and holds its storage and Key Vault roles, before the app is created.
        var appDependsOn = string.Join(" ", deployments["functionapp"]["dependsOn"]!.AsArray().Select(d => d!.GetValue<string>()));
        Assert.Contains("'roles'", appDependsOn);
        Assert.Contains("'app-identity'", appDependsOn);
        Assert.Contains("'secrets'", appDependsOn);

        // No secret is a template value (a newGuid() default was new on every deployment): a script creates each one once.
        Assert.DoesNotContain("newGuid", build.Out);
        Assert.DoesNotContain(Resources(arm), r => r["type"]!.GetValue<string>() == "Microsoft.KeyVault/vaults/secrets");
        var script = Resources(arm).Single(r => r["type"]!.GetValue<string>() == "Microsoft.Resources/deploymentScripts");
        var content = script["properties"]!["scriptContent"]!.GetValue<string>();
        Assert.Contains("az keyvault secret show", content);
        Assert.Matches(@"if ! az keyvault secret show[^\n]*\n\s*az keyvault secret set", content);
        // References are versionless, so the app reads a secret's current version.
        Assert.DoesNotContain("secretUriWithVersion", build.Out);
    }

    [Fact]
    public void Infra_storage_layout_matches_what_the_app_declares()
    {
        var declared = JsonNode.Parse(FleetApp.StorageLayoutJson())!.ToJsonString();
        var committed = JsonNode.Parse(File.ReadAllText(Path.Combine(InfraDir, "storage-layout.json")))!.ToJsonString();
        Assert.True(declared == committed, "infra/storage-layout.json is stale: run the worker with --write-storage-layout infra/storage-layout.json");
    }

    /// <summary>Resources of the template and of every nested module deployment.</summary>
    private static IEnumerable<JsonNode> Resources(JsonNode template)
    {
        var resources = template["resources"];
        IEnumerable<JsonNode?> list = resources is JsonArray array ? array : resources is JsonObject obj ? obj.Select(p => p.Value) : [];
        foreach (var r in list.OfType<JsonNode>())
        {
            yield return r;
            if (r["properties"]?["template"] is { } nested)
                foreach (var inner in Resources(nested)) yield return inner;
        }
    }
}
