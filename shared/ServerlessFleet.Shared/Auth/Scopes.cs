namespace ServerlessFleet.Shared.Auth;

/// <summary>The Mason-style scope hierarchy of API.md §1: a granted parent implies all of its descendants.</summary>
public static class Scopes
{
    public const string AccountOwner = "account:owner";
    public const string FleetAdmin = "fleet:admin";
    public const string FleetManager = "fleet:manager";
    public const string FleetDeploy = "fleet:deploy";
    public const string FleetMove = "fleet:move";
    public const string FleetRead = "fleet:read";
    public const string FleetLocate = "fleet:locate";
    public const string UserAdmin = "user:admin";
    public const string UserRead = "user:read";
    public const string RegistryAdmin = "registry:admin";
    public const string RegistryRead = "registry:read";
    public const string AuditRead = "audit:read";
    public const string NotifyAll = "notify:all";
    public const string NotifyRefresh = "notify:refresh";
    public const string NotifyCheck = "notify:check";
    public const string NotifyReboot = "notify:reboot";
    public const string NotifyShutdown = "notify:shutdown";
    public const string NotifyWipe = "notify:wipe";
    public const string NotifyApplication = "notify:application";
    public const string NotifyRefurbish = "notify:refurbish";
    public const string NotifyDisplay = "notify:display";
    public const string NotifySettings = "notify:settings";
    public const string NotifyScreenshot = "notify:screenshot";

    private static readonly Dictionary<string, string[]> Children = new(StringComparer.Ordinal)
    {
        [AccountOwner] = [FleetAdmin, UserAdmin, RegistryAdmin, AuditRead],
        [UserAdmin] = [UserRead],
        [RegistryAdmin] = [RegistryRead],
        [FleetAdmin] = [FleetManager, FleetLocate, NotifyAll],
        [FleetManager] = [FleetDeploy, FleetMove, FleetRead],
        [NotifyAll] = [NotifyRefresh, NotifyCheck, NotifyReboot, NotifyShutdown, NotifyWipe, NotifyApplication,
                       NotifyRefurbish, NotifyDisplay, NotifySettings, NotifyScreenshot],
    };

    public static IReadOnlySet<string> All { get; } = Expand([AccountOwner]);

    public static bool IsKnown(string scope) => All.Contains(scope);

    /// <summary>The granted scopes plus everything they imply.</summary>
    public static HashSet<string> Expand(IEnumerable<string> granted)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(granted);
        while (pending.Count > 0)
        {
            var scope = pending.Pop();
            if (!result.Add(scope) || !Children.TryGetValue(scope, out var children)) continue;
            foreach (var child in children) pending.Push(child);
        }
        return result;
    }
}
