using System.Text.Json.Nodes;

namespace ServerlessFleet.Shared.DeviceAuth;

public static class AuthSetStatuses
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
    public const string Preauthorized = "preauthorized";

    public static readonly IReadOnlySet<string> All = new HashSet<string> { Pending, Accepted, Rejected, Preauthorized };

    /// <summary>Mender's admission transitions.</summary>
    public static bool CanMove(string from, string to) => (from, to) switch
    {
        (Pending, Accepted or Rejected) => true,
        (Rejected, Accepted) => true,
        (Accepted, Rejected) => true,
        (Preauthorized, Rejected) => true,
        _ => false,
    };
}

/// <summary>One identity + public key a device presented (or an operator preauthorized); a device may have several (key rotation).</summary>
public sealed record AuthSet(string Id, string Serial, JsonObject Identity, string PublicKey, DeviceKeyType KeyType, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
