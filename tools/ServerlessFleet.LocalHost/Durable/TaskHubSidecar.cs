using DurableTask.AzureStorage;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using P = Microsoft.DurableTask.Protobuf;

namespace ServerlessFleet.LocalHost.Durable;

/// <summary>Hands the sidecar its engine once the task hub is up; calls that come earlier wait for it.</summary>
public sealed class DurableBackend
{
    private readonly TaskCompletionSource<AzureStorageOrchestrationService> _service = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public void Started(AzureStorageOrchestrationService service) => _service.TrySetResult(service);
    public Task<AzureStorageOrchestrationService> ServiceAsync(CancellationToken ct) => _service.Task.WaitAsync(ct);
}

/// <summary>
/// The task-hub sidecar a <c>[DurableClient]</c> in the worker talks to (the Functions host serves the same service
/// to isolated workers): start, events, suspend/resume/terminate, status, queries and purge over the engine's client.
/// </summary>
public sealed class TaskHubSidecar(DurableBackend backend) : P.TaskHubSidecarService.TaskHubSidecarServiceBase
{
    /// <summary>Starting an instance whose id is already in one of these states is refused, as in Durable Functions.</summary>
    private static readonly OrchestrationStatus[] Active = [OrchestrationStatus.Pending, OrchestrationStatus.Running, OrchestrationStatus.Suspended];

    public override Task<Empty> Hello(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public override async Task<P.CreateInstanceResponse> StartInstance(P.CreateInstanceRequest request, ServerCallContext context)
    {
        var service = await backend.ServiceAsync(context.CancellationToken);
        var instance = new OrchestrationInstance
        {
            InstanceId = string.IsNullOrEmpty(request.InstanceId) ? Guid.NewGuid().ToString("N") : request.InstanceId,
            ExecutionId = Guid.NewGuid().ToString("N"),
        };
        var started = new ExecutionStartedEvent(-1, request.Input)
        {
            Name = request.Name,
            Version = request.Version ?? "",
            OrchestrationInstance = instance,
            ScheduledStartTime = request.ScheduledStartTimestamp?.ToDateTime(),
        };
        try
        {
            await service.CreateTaskOrchestrationAsync(new TaskMessage { OrchestrationInstance = instance, Event = started }, Active);
        }
        catch (OrchestrationAlreadyExistsException)
        {
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"An orchestration instance with the ID {instance.InstanceId} already exists."));
        }
        return new P.CreateInstanceResponse { InstanceId = instance.InstanceId };
    }

    public override async Task<P.RaiseEventResponse> RaiseEvent(P.RaiseEventRequest request, ServerCallContext context)
    {
        await SendAsync(request.InstanceId, new EventRaisedEvent(-1, request.Input) { Name = request.Name }, context);
        return new P.RaiseEventResponse();
    }

    public override async Task<P.SuspendResponse> SuspendInstance(P.SuspendRequest request, ServerCallContext context)
    {
        await SendAsync(request.InstanceId, new ExecutionSuspendedEvent(-1, request.Reason), context);
        return new P.SuspendResponse();
    }

    public override async Task<P.ResumeResponse> ResumeInstance(P.ResumeRequest request, ServerCallContext context)
    {
        await SendAsync(request.InstanceId, new ExecutionResumedEvent(-1, request.Reason), context);
        return new P.ResumeResponse();
    }

    public override async Task<P.TerminateResponse> TerminateInstance(P.TerminateRequest request, ServerCallContext context)
    {
        var service = await backend.ServiceAsync(context.CancellationToken);
        await service.ForceTerminateTaskOrchestrationAsync(request.InstanceId, request.Output);
        return new P.TerminateResponse();
    }

    public override async Task<P.GetInstanceResponse> GetInstance(P.GetInstanceRequest request, ServerCallContext context)
    {
        var service = await backend.ServiceAsync(context.CancellationToken);
        var state = (await service.GetOrchestrationStateAsync(request.InstanceId, allExecutions: false)).FirstOrDefault();
        return Response(state, request.GetInputsAndOutputs);
    }

    public override async Task<P.GetInstanceResponse> WaitForInstanceStart(P.GetInstanceRequest request, ServerCallContext context)
    {
        var service = await backend.ServiceAsync(context.CancellationToken);
        while (true)
        {
            var state = (await service.GetOrchestrationStateAsync(request.InstanceId, allExecutions: false)).FirstOrDefault();
            if (state is not null && state.OrchestrationStatus != OrchestrationStatus.Pending) return Response(state, request.GetInputsAndOutputs);
            await Task.Delay(TimeSpan.FromMilliseconds(200), context.CancellationToken);
        }
    }

    public override async Task<P.GetInstanceResponse> WaitForInstanceCompletion(P.GetInstanceRequest request, ServerCallContext context)
    {
        var service = await backend.ServiceAsync(context.CancellationToken);
        var state = await service.WaitForOrchestrationAsync(request.InstanceId, executionId: null!, Timeout.InfiniteTimeSpan, context.CancellationToken);
        return Response(state, request.GetInputsAndOutputs);
    }

    public override async Task<P.QueryInstancesResponse> QueryInstances(P.QueryInstancesRequest request, ServerCallContext context)
    {
        var service = await backend.ServiceAsync(context.CancellationToken);
        var query = request.Query;
        var result = await ((IOrchestrationServiceQueryClient)service).GetOrchestrationWithQueryAsync(new OrchestrationQuery
        {
            RuntimeStatus = query.RuntimeStatus.Count > 0 ? query.RuntimeStatus.Select(s => (OrchestrationStatus)s).ToList() : null,
            CreatedTimeFrom = query.CreatedTimeFrom?.ToDateTime(),
            CreatedTimeTo = query.CreatedTimeTo?.ToDateTime(),
            PageSize = query.MaxInstanceCount > 0 ? query.MaxInstanceCount : 100,
            ContinuationToken = query.ContinuationToken,
            InstanceIdPrefix = query.InstanceIdPrefix,
            FetchInputsAndOutputs = query.FetchInputsAndOutputs,
            ExcludeEntities = true,
        }, context.CancellationToken);
        var response = new P.QueryInstancesResponse { ContinuationToken = result.ContinuationToken };
        response.OrchestrationState.AddRange(result.OrchestrationState.Select(s => State(s, query.FetchInputsAndOutputs)));
        return response;
    }

    public override async Task<P.PurgeInstancesResponse> PurgeInstances(P.PurgeInstancesRequest request, ServerCallContext context)
    {
        var service = await backend.ServiceAsync(context.CancellationToken);
        var purger = (IOrchestrationServicePurgeClient)service;
        var result = request.RequestCase switch
        {
            P.PurgeInstancesRequest.RequestOneofCase.InstanceId => await purger.PurgeInstanceStateAsync(request.InstanceId),
            P.PurgeInstancesRequest.RequestOneofCase.PurgeInstanceFilter => await purger.PurgeInstanceStateAsync(new PurgeInstanceFilter(
                request.PurgeInstanceFilter.CreatedTimeFrom.ToDateTime(), request.PurgeInstanceFilter.CreatedTimeTo?.ToDateTime(),
                request.PurgeInstanceFilter.RuntimeStatus.Select(s => (OrchestrationStatus)s).ToList())),
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"Unknown purge request {request.RequestCase}.")),
        };
        return new P.PurgeInstancesResponse { DeletedInstanceCount = result.DeletedInstanceCount };
    }

    private async Task SendAsync(string instanceId, HistoryEvent e, ServerCallContext context)
    {
        var service = await backend.ServiceAsync(context.CancellationToken);
        await service.SendTaskOrchestrationMessageAsync(new TaskMessage { OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId }, Event = e });
    }

    private static P.GetInstanceResponse Response(OrchestrationState? state, bool withPayloads) =>
        state is null ? new P.GetInstanceResponse { Exists = false } : new P.GetInstanceResponse { Exists = true, OrchestrationState = State(state, withPayloads) };

    private static P.OrchestrationState State(OrchestrationState s, bool withPayloads) => new()
    {
        InstanceId = s.OrchestrationInstance.InstanceId,
        Name = s.Name,
        Version = s.Version,
        OrchestrationStatus = (P.OrchestrationStatus)s.OrchestrationStatus,
        CreatedTimestamp = Timestamp.FromDateTime(DateTime.SpecifyKind(s.CreatedTime, DateTimeKind.Utc)),
        LastUpdatedTimestamp = Timestamp.FromDateTime(DateTime.SpecifyKind(s.LastUpdatedTime, DateTimeKind.Utc)),
        Input = withPayloads ? s.Input : null,
        Output = withPayloads ? s.Output : null,
        CustomStatus = withPayloads ? s.Status : null,
        FailureDetails = withPayloads ? HistoryProtobuf.Failure(s.FailureDetails) : null,
    };
}
