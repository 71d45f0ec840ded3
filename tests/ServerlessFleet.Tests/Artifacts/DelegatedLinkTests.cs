using ServerlessFleet.Shared.Storage;

namespace ServerlessFleet.Tests.Artifacts;

/// <summary>
/// With a managed identity, links are signed by a user-delegation key, which storage issues for at most seven days:
/// neither the key asked for nor a link may go past that (Azurite signs with the account key, so the bounds are tested here).
/// </summary>
public sealed class DelegatedLinkTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_link_for_an_action_expiring_in_seven_days_stays_within_the_key_storage_issues()
    {
        var link = BlobLinks.DelegatedExpiry(Now, Now.AddDays(7).AddMinutes(1));
        Assert.True(link <= Now + BlobLinks.MaxDelegation - BlobLinks.ClockSkew);
        var key = BlobLinks.DelegationKeyExpiry(Now, link);
        Assert.True(key >= link, "the key outlives the link it signs");
        Assert.True(key < Now + BlobLinks.MaxDelegation, "storage refuses keys beyond seven days");
    }

    [Fact]
    public void Short_links_are_unchanged_and_share_a_six_day_key()
    {
        Assert.Equal(Now.AddMinutes(15), BlobLinks.DelegatedExpiry(Now, Now.AddMinutes(15)));
        Assert.Equal(Now.AddDays(6), BlobLinks.DelegationKeyExpiry(Now, Now.AddMinutes(15)));
    }
}
