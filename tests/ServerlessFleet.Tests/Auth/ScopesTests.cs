using ServerlessFleet.Shared.Auth;

namespace ServerlessFleet.Tests.Auth;

public sealed class ScopesTests
{
    [Theory]
    [InlineData("account:owner", "notify:wipe")]
    [InlineData("account:owner", "registry:read")]
    [InlineData("account:owner", "audit:read")]
    [InlineData("fleet:admin", "fleet:read")]
    [InlineData("fleet:admin", "fleet:locate")]
    [InlineData("fleet:manager", "fleet:deploy")]
    [InlineData("notify:all", "notify:screenshot")]
    [InlineData("user:admin", "user:read")]
    public void Parent_implies_child(string granted, string required) =>
        Assert.Contains(required, Scopes.Expand([granted]));

    [Theory]
    [InlineData("fleet:manager", "fleet:locate")]
    [InlineData("fleet:admin", "user:read")]
    [InlineData("notify:reboot", "notify:wipe")]
    [InlineData("registry:read", "registry:admin")]
    [InlineData("fleet:read", "fleet:manager")]
    public void Scope_does_not_imply_siblings_or_parents(string granted, string required) =>
        Assert.DoesNotContain(required, Scopes.Expand([granted]));

    [Fact]
    public void Owner_holds_every_known_scope() => Assert.Equal(23, Scopes.All.Count);
}
