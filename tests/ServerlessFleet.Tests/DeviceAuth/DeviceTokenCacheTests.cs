using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ServerlessFleet.Shared.DeviceAuth;

namespace ServerlessFleet.Tests.DeviceAuth;

/// <summary>
/// The verified-token cache answers from the characters of a request's header: the same claims as a full check, never
/// for a token that differs by a character, and never past the token's expiry.
/// </summary>
public sealed class DeviceTokenCacheTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private static DeviceTokens Tokens(TimeProvider clock) => new(
        Options.Create(new DeviceTokenOptions { SigningKeys = ["cache-test-key"], Lifetime = TimeSpan.FromHours(1) }), clock);

    /// <summary>The token as a slice of a whole <c>Authorization</c> header, as the middleware passes it.</summary>
    private static ReadOnlyMemory<char> InHeader(string token) => $"Bearer {token}  ".AsMemory(7, token.Length);

    [Fact]
    public async Task A_token_read_from_a_header_gives_the_same_claims_checked_and_cached()
    {
        var tokens = Tokens(new FakeTimeProvider(Start));
        var token = tokens.Issue("tenant-a", "dev-1").Token;

        var checkedClaims = await tokens.ValidateAsync(InHeader(token));
        var cachedClaims = await tokens.ValidateAsync(InHeader(token));

        Assert.Equal(new DeviceTokenClaims("tenant-a", "dev-1", checkedClaims!.Jti, Start, Start.AddHours(1)), checkedClaims);
        Assert.Equal(checkedClaims, cachedClaims);
    }

    [Fact]
    public async Task A_token_one_character_off_a_cached_one_is_refused()
    {
        var tokens = Tokens(new FakeTimeProvider(Start));
        var token = tokens.Issue("tenant-a", "dev-1").Token;
        Assert.NotNull(await tokens.ValidateAsync(InHeader(token)));

        var lastSignatureChar = token[^2] == 'A' ? 'B' : 'A';
        var altered = string.Concat(token.AsSpan(0, token.Length - 2), [lastSignatureChar], token.AsSpan(token.Length - 1));

        Assert.Null(await tokens.ValidateAsync(InHeader(altered)));
        Assert.Null(await tokens.ValidateAsync(InHeader(token[..^1])));
    }

    [Fact]
    public async Task A_cached_token_expires_with_the_clock()
    {
        var clock = new FakeTimeProvider(Start);
        var tokens = Tokens(clock);
        var token = tokens.Issue("tenant-a", "dev-1").Token;
        Assert.NotNull(await tokens.ValidateAsync(InHeader(token)));

        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.NotNull(await tokens.ValidateAsync(InHeader(token)));
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await tokens.ValidateAsync(InHeader(token)));
        // Dropped from the cache, it is checked in full again, and the full check refuses it as well.
        Assert.Null(await tokens.ValidateAsync(InHeader(token)));
    }
}
