using Microsoft.DurableTask;
using ServerlessFleet.Functions.Orchestration;
using ServerlessFleet.Shared.Actions;

namespace ServerlessFleet.Functions.Actions;

/// <summary>The bulk-action orchestration's activities as typed calls, one each, every one with the activity retry policy.</summary>
public static class BulkActionActivityCalls
{
    public static Task<ActionPlan?> LoadActionPlanAsync(this TaskOrchestrationContext ctx, BulkActionState state) =>
        ctx.CallActivityAsync<ActionPlan?>(nameof(BulkActionActivities.ActionPlan), state, ActivityRetry.Policy);

    public static Task<ActionProgress> ActionProgressAsync(this TaskOrchestrationContext ctx, BulkActionState state) =>
        ctx.CallActivityAsync<ActionProgress>(nameof(BulkActionActivities.ActionProgress), state, ActivityRetry.Policy);

    public static Task<int> ReleaseActionBatchAsync(this TaskOrchestrationContext ctx, BulkActionState state, int batch) =>
        ctx.CallActivityAsync<int>(nameof(BulkActionActivities.ActionReleaseBatch), new BatchRequest(state, batch), ActivityRetry.Policy);

    public static Task<int> RedeliverActionAsync(this TaskOrchestrationContext ctx, BulkActionState state, int releasedBatches) =>
        ctx.CallActivityAsync<int>(nameof(BulkActionActivities.ActionRedeliver), new BatchRequest(state, releasedBatches), ActivityRetry.Policy);

    /// <param name="pendingOnly">Only devices the action was not delivered to (a stop), or every device not final yet (expiry, cancel).</param>
    public static Task<int> EndOpenDevicesAsync(this TaskOrchestrationContext ctx, BulkActionState state, string status, bool pendingOnly) =>
        ctx.CallActivityAsync<int>(nameof(BulkActionActivities.ActionEnd), new EndRequest(state, status, pendingOnly), ActivityRetry.Policy);

    public static Task<bool> SetActionStatusAsync(this TaskOrchestrationContext ctx, BulkActionState state, string status) =>
        ctx.CallActivityAsync<bool>(nameof(BulkActionActivities.ActionSetStatus), new ActionStatusRequest(state, status), ActivityRetry.Policy);
}
