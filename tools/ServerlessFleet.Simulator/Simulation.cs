using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessFleet.DeviceClient;

namespace ServerlessFleet.Simulator;

public sealed record SimulationOptions
{
    public required Uri BaseUrl { get; init; }
    /// <summary>An API key that may admit devices (fleet:manager) and, for the scenario, upload (registry:admin), deploy and act.</summary>
    public required string ApiKey { get; init; }
    public int Devices { get; init; } = 10;
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);
    public double JitterPercent { get; init; } = 20;
    public bool HonourPollAfter { get; init; } = true;
    public double FailurePercent { get; init; }
    public double SilencePercent { get; init; }
    public double TelemetryPerHour { get; init; }
    public double InventoryPerHour { get; init; }
    /// <summary>How long devices run; with a rollout or an action, they stop earlier once both are over.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(1);
    public bool Rollout { get; init; }
    public int Phases { get; init; } = 2;
    /// <summary>How long each phase of the rollout but the last is watched before the next one starts.</summary>
    public double SoakMinutes { get; init; }
    public string? Action { get; init; }
    /// <summary>Devices the action releases at a time (all at once when null), with <see cref="ActionBatchDelaySeconds"/> between batches.</summary>
    public int? ActionBatchSize { get; init; }
    public double ActionBatchDelaySeconds { get; init; }
    /// <summary>Download and verify every artifact; false checks the link only (its first byte), for fleets too large to download for.</summary>
    public bool DownloadArtifacts { get; init; } = true;
    public string Prefix { get; init; } = "sim";
    /// <summary>The telemetry metric devices report (with <see cref="TelemetryPerHour"/>): healthy values are 35–45.</summary>
    public string Metric { get; init; } = "temperature";
    /// <summary>Share of devices that, once updated, report <see cref="RegressedValue"/> instead: a bad release, for health gates to catch.</summary>
    public double RegressionPercent { get; init; }
    public double RegressedValue { get; init; } = 95;
    /// <summary>A health gate for the rollout, e.g. <c>temperature&gt;80</c>; watched for <see cref="HealthWindowMinutes"/> after each phase.</summary>
    public string? HealthGate { get; init; }
    public double HealthWindowMinutes { get; init; } = 1;
    public int Seed { get; init; } = Environment.TickCount;
}

/// <param name="Errors">Attempts that failed (refused, timed out, 5xx); each was retried unless the run ended first.</param>
/// <param name="RequestsRetried">Attempts sent again after a failure, by devices and the operator.</param>
/// <param name="LongestOutageSeconds">The longest a device (or the operator) went from a failed request to its answer.</param>
public sealed record SimulationSummary(int Devices, double Seconds, int Requests, int Errors, int Installed, int Failed, int Silent, int ActionsConfirmed,
    string? DeploymentId, string? DeploymentStatus, string? DeploymentReason, string? ActionId, string? ActionStatus, IReadOnlyList<RouteFigures> Routes,
    long RequestsRetried = 0, double LongestOutageSeconds = 0, int DevicesWithOutage = 0);

/// <summary>Live counters for the progress display.</summary>
public sealed class SimulationCounters
{
    private int _installed, _failed, _silent, _confirmed;
    public int Installed => _installed;
    public int Failed => _failed;
    public int Silent => _silent;
    public int Confirmed => _confirmed;
    public void Count(InstallOutcome outcome)
    {
        switch (outcome)
        {
            case InstallOutcome.Success: Interlocked.Increment(ref _installed); break;
            case InstallOutcome.Failure: Interlocked.Increment(ref _failed); break;
            default: Interlocked.Increment(ref _silent); break;
        }
    }
    public void Confirm() => Interlocked.Increment(ref _confirmed);
}

/// <summary>
/// A fleet of simulated devices against one API: onboarded by preauthorization, then each polling with jitter (or as
/// the server says), installing what it is offered with the configured failure and silence rates, confirming actions,
/// and sending telemetry and inventory at their rates. Every device request is timed per route.
/// </summary>
public sealed class Simulation(SimulationOptions options)
{
    public const string DeviceType = "sim-board";
    public Measurements Measurements { get; } = new();
    public SimulationCounters Counters { get; } = new();
    public Acknowledgements Acknowledged { get; } = new();
    private readonly TaskCompletionSource<string?> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once every device is onboarded and the rollout (if any) is created, with the deployment's id.</summary>
    public Task<string?> Started => _started.Task;

    private RetryingHandler? _deviceRetries;
    private HttpClient? _devicesHttp;
    private RetryingHandler? _operatorRetries;

    /// <summary>Requests sent again so far after a failure (refused, timed out, 5xx, 429), by devices and the operator.</summary>
    public long RequestsRetried => (_deviceRetries?.Retried ?? 0) + (_operatorRetries?.Retried ?? 0);

    public async Task<SimulationSummary> RunAsync(CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        // Every request of the run is retried until answered, as real devices do: the fleet outlives a server that goes
        // away. Attempts are timed one by one underneath; the run's own end (duration, scenario over) is the only limit.
        _deviceRetries = new RetryingHandler(new MeasuringHandler(Measurements), TimeProvider.System, new Random(options.Seed));
        _operatorRetries = new RetryingHandler(new SocketsHttpHandler(), TimeProvider.System, new Random(options.Seed + 1));
        using var devicesHttp = _devicesHttp = new HttpClient(_deviceRetries) { BaseAddress = options.BaseUrl, Timeout = Timeout.InfiniteTimeSpan };
        using var operatorHttp = new HttpClient(_operatorRetries) { BaseAddress = options.BaseUrl, Timeout = Timeout.InfiniteTimeSpan };
        operatorHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        var run = $"{options.Prefix}-{started:HHmmss}{options.Seed & 0xffff:x4}";

        var devices = await OnboardAsync(operatorHttp, devicesHttp, run, ct);
        var deployment = options.Rollout ? await StartRolloutAsync(operatorHttp, devices, run, ct) : null;
        var action = options.Action is { } type ? await StartActionAsync(operatorHttp, devices, type, run, ct) : null;
        _started.TrySetResult(deployment);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(options.Duration);
        var fleet = devices.Select((d, i) => RunDeviceAsync(d, new Random(options.Seed + i), stop.Token)).ToList();
        // With a scenario, the run ends when it is over; without one, the devices run for the whole duration.
        if (deployment is not null || action is not null)
        {
            await WaitOverAsync(operatorHttp, deployment, action, stop);
            await stop.CancelAsync();
        }
        await Task.WhenAll(fleet);

        var rollout = deployment is null ? null : await operatorHttp.GetFromJsonAsync<JsonObject>($"/api/v1/deployments/{deployment}", CancellationToken.None);
        var actionStatus = action is null ? null : (await operatorHttp.GetFromJsonAsync<JsonObject>($"/api/v1/actions/{action}", CancellationToken.None))?["status"]?.GetValue<string>();
        return new SimulationSummary(devices.Count, (DateTimeOffset.UtcNow - started).TotalSeconds, Measurements.Requests, Measurements.Errors, Counters.Installed,
            Counters.Failed, Counters.Silent, Counters.Confirmed, deployment, rollout?["status"]?.GetValue<string>(), rollout?["statusReason"]?.GetValue<string>(),
            action, actionStatus, Measurements.Figures(), RequestsRetried,
            _deviceRetries.LongestOutages.Values.Concat(_operatorRetries.LongestOutages.Values).DefaultIfEmpty().Max().TotalSeconds, _deviceRetries.LongestOutages.Count);
    }

    /// <summary>Preauthorizes <see cref="SimulationOptions.Devices"/> devices named <c>{run}-{n}</c> with Ed25519 keys, and authenticates each.</summary>
    public async Task<IReadOnlyList<FleetDeviceClient>> OnboardAsync(HttpClient operatorHttp, HttpClient devicesHttp, string run, CancellationToken ct)
    {
        var tenant = await operatorHttp.GetFromJsonAsync<JsonObject>("/api/v1/tenants/current", ct);
        var tenantToken = tenant?["tenantToken"]?.GetValue<string>() ?? throw new InvalidOperationException("The API key cannot see the tenant token (fleet:manager needed).");
        var devices = new FleetDeviceClient[options.Devices];
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Devices), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, token) =>
        {
            var serial = $"{run}-{i:D5}";
            RetryingHandler.Requester.Value = serial;
            var key = DeviceKey.Generate(KeyAlgorithm.Ed25519);
            var identity = new JsonObject { ["device_type"] = DeviceType };
            using var admitted = await operatorHttp.PostAsJsonAsync("/api/v1/device-auth/preauthorize",
                new { identity = new JsonObject { ["serial"] = serial, ["device_type"] = DeviceType }, publicKey = key.PublicKeyPem }, token);
            if (!admitted.IsSuccessStatusCode)
                throw new InvalidOperationException($"Preauthorizing {serial}: {(int)admitted.StatusCode} {await admitted.Content.ReadAsStringAsync(token)}");
            var device = new FleetDeviceClient(devicesHttp, tenantToken, serial, key, identity);
            var auth = await device.AuthenticateAsync(token);
            if (auth.Token is null) throw new InvalidOperationException($"Device {serial} was not admitted ({(int)auth.Status}).");
            devices[i] = device;
        });
        return devices;
    }

    private async Task<string> StartRolloutAsync(HttpClient operatorHttp, IReadOnlyList<FleetDeviceClient> devices, string run, CancellationToken ct)
    {
        var payload = new byte[64 * 1024];
        new Random(options.Seed).NextBytes(payload);
        var file = new ByteArrayContent(payload);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var form = new MultipartFormDataContent
        {
            { new StringContent($"{options.Prefix}-fw"), "name" }, { new StringContent(run), "version" }, { new StringContent("firmware"), "kind" },
            { new StringContent(DeviceType), "deviceTypesCompatible" }, { file, "file", "firmware.img" },
        };
        (await operatorHttp.SendAsync(Creating(HttpMethod.Post, "/api/v1/artifacts", form, $"{run}-artifact"), ct)).EnsureSuccessStatusCode();
        var phases = Math.Clamp(options.Phases, 1, devices.Count);
        var perPhase = devices.Count / phases;
        var created = await operatorHttp.SendAsync(Creating(HttpMethod.Post, "/api/v1/deployments", JsonContent.Create(new
        {
            name = $"{run} rollout", release = new { name = $"{options.Prefix}-fw", version = run }, target = new { devices = devices.Select(d => d.Serial) },
            phases = Enumerable.Range(0, phases).Select(p => p < phases - 1 ? (object)new { batchSize = perPhase, soakMinutes = options.SoakMinutes } : new { }).ToList(),
            policy = new { healthGate = HealthGatePolicy() },
        }), $"{run}-rollout"), ct);
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonObject>(ct))!["id"]!.GetValue<string>();
    }

    /// <summary><c>metric&gt;threshold</c> (or &lt;, &gt;=, &lt;=) as the API's health gate: pause when more than 10 % of the updated devices violate it.</summary>
    private object? HealthGatePolicy()
    {
        if (options.HealthGate is not { } gate) return null;
        var match = System.Text.RegularExpressions.Regex.Match(gate, @"^\s*([A-Za-z0-9_.-]+)\s*(>=|<=|>|<)\s*(-?[0-9.]+)\s*$");
        if (!match.Success) throw new ArgumentException($"A health gate reads metric>threshold (or <, >=, <=), not '{gate}'.");
        return new
        {
            metric = match.Groups[1].Value, op = match.Groups[2].Value, threshold = double.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture),
            windowMinutes = options.HealthWindowMinutes, maxViolatingPercent = 10, minDevices = 1,
        };
    }

    private async Task<string> StartActionAsync(HttpClient operatorHttp, IReadOnlyList<FleetDeviceClient> devices, string type, string run, CancellationToken ct)
    {
        var ids = new List<string>();
        var rollout = options.ActionBatchSize is { } size ? new { batchSize = size, batchDelaySeconds = options.ActionBatchDelaySeconds } : null;
        foreach (var (chunk, n) in devices.Chunk(500).Select((c, n) => (c, n)))
        {
            var created = await operatorHttp.SendAsync(Creating(HttpMethod.Post, "/api/v1/actions",
                JsonContent.Create(new { type, devices = chunk.Select(d => d.Serial), rollout }), $"{run}-action-{n}"), ct);
            created.EnsureSuccessStatusCode();
            ids.Add((await created.Content.ReadFromJsonAsync<JsonObject>(ct))!["id"]!.GetValue<string>());
        }
        return ids[0];
    }

    /// <summary>
    /// A request that creates work, with an idempotency key: an answer lost to an outage makes the retrying handler send
    /// it again, and the server must then answer with what the first one created instead of creating it twice.
    /// </summary>
    private static HttpRequestMessage Creating(HttpMethod method, string path, HttpContent content, string idempotencyKey)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return request;
    }

    /// <summary>Until the rollout and the action are over (or the duration ends).</summary>
    private static async Task WaitOverAsync(HttpClient operatorHttp, string? deployment, string? action, CancellationTokenSource stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var deploymentOver = deployment is null || (await operatorHttp.GetFromJsonAsync<JsonObject>($"/api/v1/deployments/{deployment}", stop.Token))?["status"]?.GetValue<string>()
                    is "finished" or "aborted" or "paused";
                var actionOver = action is null || (await operatorHttp.GetFromJsonAsync<JsonObject>($"/api/v1/actions/{action}", stop.Token))?["status"]?.GetValue<string>()
                    is "succeeded" or "failed" or "partially_failed" or "canceled";
                if (deploymentOver && actionOver) return;
                await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
    }

    private async Task RunDeviceAsync(FleetDeviceClient device, Random random, CancellationToken stop)
    {
        RetryingHandler.Requester.Value = device.Serial;
        var installed = new InstalledSoftware("factory", null, DeviceType);
        var handled = new HashSet<string>(StringComparer.Ordinal);
        var regressed = false;
        long afterSeq = 0;
        var nextTelemetry = DateTimeOffset.UtcNow + Exponential(random, options.TelemetryPerHour);
        var nextInventory = DateTimeOffset.UtcNow + Exponential(random, options.InventoryPerHour);
        // Devices of a fleet do not start in the same instant.
        await Delay(TimeSpan.FromSeconds(random.NextDouble() * Math.Min(options.PollInterval.TotalSeconds, 5)), stop);
        while (!stop.IsCancellationRequested)
        {
            TimeSpan? serverSaid = null;
            try
            {
                var poll = await device.PollAsync(installed, stop);
                serverSaid = options.HonourPollAfter ? poll.PollAfter : null;
                if (poll.Deployment is { } offered) Acknowledged.Record(device.Serial, AcknowledgedKind.Offered, offered.DeploymentId);
                if (poll.Deployment is { } offer && handled.Add(offer.DeploymentId))
                {
                    var outcome = DeviceBehaviour.Choose(random, options.FailurePercent, options.SilencePercent);
                    if (await InstallAsync(device, offer, outcome, stop)) Counters.Count(outcome);
                    if (outcome == InstallOutcome.Success)
                    {
                        installed = installed with { ArtifactName = offer.Artifact.Name, ArtifactVersion = offer.Artifact.Version };
                        regressed = random.NextDouble() * 100 < options.RegressionPercent;
                    }
                }
                foreach (var action in poll.HasNewActions(afterSeq) ? await device.GetActionsAsync(afterSeq, stop) : [])
                {
                    Acknowledged.Record(device.Serial, AcknowledgedKind.Delivered, action.ActionId, $"{action.Seq}");
                    await device.ReportActionResultAsync(action.ActionId, succeeded: true, $"{action.Type} done", stop);
                    Acknowledged.Record(device.Serial, AcknowledgedKind.Confirmed, action.ActionId);
                    afterSeq = Math.Max(afterSeq, action.Seq);
                    Counters.Confirm();
                }
                var now = DateTimeOffset.UtcNow;
                if (options.TelemetryPerHour > 0 && now >= nextTelemetry)
                {
                    await device.SendTelemetryAsync([new TelemetrySample(options.Metric, now, regressed ? options.RegressedValue : 35 + random.NextDouble() * 10)], stop);
                    nextTelemetry = now + Exponential(random, options.TelemetryPerHour);
                }
                if (options.InventoryPerHour > 0 && now >= nextInventory)
                {
                    await device.ReportInventoryAsync([new("uptime_s", (double)Environment.TickCount64 / 1000)], stop);
                    nextInventory = now + Exponential(random, options.InventoryPerHour);
                }
            }
            catch (Exception e) when (e is FleetApiException or HttpRequestException or ArtifactVerificationException or TaskCanceledException
                                          && !stop.IsCancellationRequested)
            {
                // Counted by the measuring handler; a device carries on after a refused, failed or timed-out call.
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            await Delay(DeviceBehaviour.NextPoll(options.PollInterval, options.JitterPercent, serverSaid, random), stop);
        }
    }

    /// <returns>False when the deployment stopped taking reports (aborted).</returns>
    private async Task<bool> InstallAsync(FleetDeviceClient device, DeploymentOffer offer, InstallOutcome outcome, CancellationToken stop)
    {
        foreach (var status in DeviceBehaviour.StatusSequence(outcome))
        {
            try
            {
                await device.ReportStatusAsync(offer.DeploymentId, status, ct: stop);
                Acknowledged.Record(device.Serial, AcknowledgedKind.StatusReported, offer.DeploymentId, status);
            }
            catch (FleetApiException e) when (e.Status == System.Net.HttpStatusCode.Conflict)
            {
                return false;
            }
            if (status == "downloading") await DownloadAsync(device, offer.Artifact, stop);
        }
        return true;
    }

    private async Task DownloadAsync(FleetDeviceClient device, OfferedArtifact artifact, CancellationToken stop)
    {
        if (options.DownloadArtifacts)
        {
            await device.DownloadAsync(artifact, Stream.Null, stop);
            return;
        }
        // The devices' own client: its retries and outages count with theirs, and its connections are reused.
        using var first = new HttpRequestMessage(HttpMethod.Get, artifact.Uri);
        first.Headers.Range = new RangeHeaderValue(0, 0);
        using var response = await _devicesHttp!.SendAsync(first, stop);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The gap to the next event of a Poisson process at <paramref name="perHour"/>; a year when the rate is 0 (never, within a run).</summary>
    private static TimeSpan Exponential(Random random, double perHour) =>
        perHour <= 0 ? TimeSpan.FromDays(365) : TimeSpan.FromHours(-Math.Log(1 - random.NextDouble()) / perHour);

    private static async Task Delay(TimeSpan wait, CancellationToken stop)
    {
        try { await Task.Delay(wait, stop); }
        catch (OperationCanceledException) { }
    }

    public static string Json(SimulationSummary summary) => JsonSerializer.Serialize(summary, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });
}
