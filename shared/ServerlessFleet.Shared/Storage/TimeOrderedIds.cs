using System.Globalization;
using System.Security.Cryptography;

namespace ServerlessFleet.Shared.Storage;

/// <summary>Ids that sort by creation time (ticks in hex, then randomness), so a RowKey range lists oldest first without a sort.</summary>
public static class TimeOrderedIds
{
    public static string New(TimeProvider clock) =>
        clock.GetUtcNow().UtcTicks.ToString("x15", CultureInfo.InvariantCulture) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
}
