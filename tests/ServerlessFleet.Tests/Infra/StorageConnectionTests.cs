using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using Microsoft.Extensions.Configuration;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Tests.Infra;

/// <summary>Key-based versus identity-based storage, and which kind of SAS follows from each.</summary>
public sealed class StorageConnectionTests
{
    private sealed class NoToken : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw new InvalidOperationException("no network in this test");
        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => throw new InvalidOperationException("no network in this test");
    }

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();

    [Fact]
    public void Connection_string_with_an_account_key_signs_with_the_key()
    {
        var connection = StorageConnection.From(Config(("AzureWebJobsStorage",
            "DefaultEndpointsProtocol=https;AccountName=fleetacct;AccountKey=" + Convert.ToBase64String(new byte[64]) + ";EndpointSuffix=core.windows.net")));
        Assert.False(connection.UsesIdentity);
        Assert.True(new FleetStorage(connection).CanSignWithAccountKey);
    }

    [Fact]
    public void Development_storage_signs_with_the_emulator_key() =>
        Assert.True(new FleetStorage(StorageConnection.From(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true")))).CanSignWithAccountKey);

    [Fact]
    public void Account_name_means_managed_identity_and_user_delegation()
    {
        var connection = StorageConnection.From(Config(("AzureWebJobsStorage:accountName", "fleetacct")), new NoToken());
        Assert.True(connection.UsesIdentity);
        Assert.Equal(new Uri("https://fleetacct.blob.core.windows.net"), connection.BlobUri);
        Assert.Equal(new Uri("https://fleetacct.queue.core.windows.net"), connection.QueueUri);
        Assert.Equal(new Uri("https://fleetacct.table.core.windows.net"), connection.TableUri);
        Assert.False(new FleetStorage(connection).CanSignWithAccountKey);
    }

    [Fact]
    public void Explicit_service_uris_win_over_the_account_name()
    {
        var connection = StorageConnection.From(Config(
            ("AzureWebJobsStorage:accountName", "fleetacct"),
            ("AzureWebJobsStorage:blobServiceUri", "https://blobs.example.test/")), new NoToken());
        Assert.Equal(new Uri("https://blobs.example.test/"), connection.BlobUri);
        Assert.Equal(new Uri("https://fleetacct.queue.core.windows.net"), connection.QueueUri);
    }

    [Fact]
    public void Missing_storage_settings_fail_with_a_clear_message()
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageConnection.From(Config()));
        Assert.Contains("AzureWebJobsStorage__accountName", error.Message);
    }

    [Fact]
    public void User_delegation_link_is_scoped_to_one_blob_and_names_the_delegating_identity()
    {
        var key = BlobsModelFactory.UserDelegationKey("object-id", "tenant-id", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1), "b", "2023-11-03",
            Convert.ToBase64String(new byte[32]));
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, DateTimeOffset.UtcNow.AddMinutes(15))
        {
            BlobContainerName = ArtifactBlobs.Container, BlobName = "acme/123", Resource = "b", Protocol = SasProtocol.Https,
        };
        var uri = BlobLinks.WithUserDelegation(new Uri("https://fleetacct.blob.core.windows.net/artifacts/acme/123"), sas, key, "fleetacct");
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        Assert.Equal("object-id", query["skoid"]);
        Assert.Equal("tenant-id", query["sktid"]);
        Assert.Equal("b", query["sr"]);
        Assert.Equal("r", query["sp"]);
        Assert.Equal("https", query["spr"]);
        Assert.False(string.IsNullOrEmpty(query["sig"]));
        Assert.Equal("/artifacts/acme/123", uri.AbsolutePath);
    }
}
