namespace ServerlessFleet.Tests.Infrastructure;

/// <summary>A test class that works in a tenant of its own on the shared server, with the owner's client at hand.</summary>
public abstract class TenantScopedTests(string prefix) : IAsyncLifetime
{
    protected TestTenant Tenant { get; private set; } = null!;
    protected HttpClient Owner { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Tenant = await (await FleetServer.Shared).CreateTenantAsync(prefix);
        Owner = Tenant.OwnerClient();
    }

    public virtual Task DisposeAsync()
    {
        Owner.Dispose();
        return Task.CompletedTask;
    }
}
