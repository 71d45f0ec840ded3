using System.Collections.Concurrent;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace ServerlessFleet.Shared.Storage;

/// <summary>
/// The Table, Queue and Blob clients of the one storage account named by <c>AzureWebJobsStorage</c> (a connection
/// string, or identity-based settings). Queue messages are Base64-encoded because that is what the Functions
/// queue trigger reads by default.
/// </summary>
public sealed class FleetStorage
{
    private readonly ConcurrentDictionary<string, TableClient> _tables = new();
    private readonly ConcurrentDictionary<string, QueueClient> _queues = new();

    public FleetStorage(string connectionString, StorageRequestCounter? counter = null)
        : this(string.IsNullOrWhiteSpace(connectionString)
            ? throw new InvalidOperationException("The storage connection setting 'AzureWebJobsStorage' is not set.")
            : new StorageConnection(connectionString, null, null, null, null), counter)
    {
    }

    public FleetStorage(StorageConnection connection, StorageRequestCounter? counter = null)
    {
        Connection = connection;
        Counter = counter ?? new StorageRequestCounter();
        var tableOptions = Bounded(new TableClientOptions());
        tableOptions.AddPolicy(Counter, Azure.Core.HttpPipelinePosition.PerCall);
        var queueOptions = Bounded(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        queueOptions.AddPolicy(Counter, Azure.Core.HttpPipelinePosition.PerCall);
        var blobOptions = Bounded(new BlobClientOptions());
        blobOptions.AddPolicy(Counter, Azure.Core.HttpPipelinePosition.PerCall);
        if (connection.ConnectionString is { } connectionString)
        {
            Tables = new TableServiceClient(connectionString, tableOptions);
            Queues = new QueueServiceClient(connectionString, queueOptions);
            Blobs = new BlobServiceClient(connectionString, blobOptions);
        }
        else
        {
            Tables = new TableServiceClient(connection.TableUri!, connection.Credential!, tableOptions);
            Queues = new QueueServiceClient(connection.QueueUri!, connection.Credential!, queueOptions);
            Blobs = new BlobServiceClient(connection.BlobUri!, connection.Credential!, blobOptions);
        }
    }

    public StorageConnection Connection { get; }

    /// <summary>
    /// Retries that end within about a second (the SDK's default is ~5 s and a 100 s network timeout): a request during
    /// a storage outage is answered promptly with 503 and Retry-After rather than held. Longer work (orchestration
    /// activities, queue messages) has its own retries on top.
    /// </summary>
    private static T Bounded<T>(T options) where T : Azure.Core.ClientOptions
    {
        options.Retry.MaxRetries = 2;
        options.Retry.Mode = Azure.Core.RetryMode.Exponential;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        return options;
    }

    /// <summary>An account key is at hand: links are signed with it. Otherwise they are user-delegation SAS.</summary>
    public bool CanSignWithAccountKey => Blobs.CanGenerateAccountSasUri;

    public StorageRequestCounter Counter { get; }

    public TableServiceClient Tables { get; }
    public QueueServiceClient Queues { get; }
    public BlobServiceClient Blobs { get; }

    public TableClient Table(string name) => _tables.GetOrAdd(name, Tables.GetTableClient);
    public QueueClient Queue(string name) => _queues.GetOrAdd(name, Queues.GetQueueClient);
    public BlobContainerClient Container(string name) => Blobs.GetBlobContainerClient(name);

    public async Task EnsureCreatedAsync(StorageLayout layout, CancellationToken ct)
    {
        await Task.WhenAll(
            layout.Tables.Select(t => Table(t).CreateIfNotExistsAsync(ct))
                .Concat<Task>(layout.Queues.Select(q => Queue(q).CreateIfNotExistsAsync(cancellationToken: ct)))
                .Concat(layout.Containers.Select(c => Container(c).CreateIfNotExistsAsync(cancellationToken: ct))));
    }
}

/// <summary>The tables, queues and containers the app declares; created idempotently at start-up.</summary>
public sealed class StorageLayout
{
    private readonly HashSet<string> _tables = new(StringComparer.Ordinal);
    private readonly HashSet<string> _queues = new(StringComparer.Ordinal);
    private readonly HashSet<string> _containers = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Tables => _tables;
    public IReadOnlyCollection<string> Queues => _queues;
    public IReadOnlyCollection<string> Containers => _containers;

    public StorageLayout AddTables(params string[] names) { foreach (var n in names) _tables.Add(n); return this; }
    public StorageLayout AddQueues(params string[] names) { foreach (var n in names) _queues.Add(n); return this; }
    public StorageLayout AddContainers(params string[] names) { foreach (var n in names) _containers.Add(n); return this; }
}
