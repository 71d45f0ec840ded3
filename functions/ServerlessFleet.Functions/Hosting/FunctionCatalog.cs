using System.Reflection;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;

namespace ServerlessFleet.Functions.Hosting;

public enum TriggerKind { Http, Queue, Timer, Orchestration, Activity }

/// <summary>One function of the app as its attributes declare it.</summary>
public sealed record FunctionDescriptor(
    string Name,
    MethodInfo Method,
    TriggerKind Kind,
    string? Route = null,
    IReadOnlyList<string>? HttpMethods = null,
    string? QueueName = null,
    string? Schedule = null,
    AccessAttribute? Access = null,
    bool Idempotent = false,
    bool ReplayThroughHandler = false,
    MethodInfo? Handler = null);

/// <summary>
/// Every function of the app, read from the <c>[Function]</c> methods of this assembly: the same attributes the
/// Functions SDK turns into <c>functions.metadata</c>, so what the middleware enforces and what the OpenAPI document
/// describes cannot drift from what the host routes. Refuses an HTTP function without an access rule or a handler.
/// </summary>
public sealed class FunctionCatalog
{
    private readonly Dictionary<string, FunctionDescriptor> _byName;
    private readonly IReadOnlyList<(TemplateMatcher Route, FunctionDescriptor Function)> _routes;

    public FunctionCatalog() : this(typeof(FunctionCatalog).Assembly) { }

    public FunctionCatalog(Assembly assembly)
    {
        var functions = new List<FunctionDescriptor>();
        var problems = new List<string>();
        foreach (var method in assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)))
        {
            if (method.GetCustomAttribute<FunctionAttribute>() is not { } function) continue;
            var descriptor = Describe(function.Name, method, problems);
            if (descriptor is not null) functions.Add(descriptor);
        }
        foreach (var duplicate in functions.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            problems.Add($"Function name '{duplicate.Key}' is declared {duplicate.Count()} times.");
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
        Functions = functions.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        _byName = Functions.ToDictionary(f => f.Name, StringComparer.OrdinalIgnoreCase);
        _routes = Http.Select(f => (new TemplateMatcher(TemplateParser.Parse(f.Route!), new RouteValueDictionary()), f)).ToList();
    }

    public IReadOnlyList<FunctionDescriptor> Functions { get; }

    public IEnumerable<FunctionDescriptor> Http => Functions.Where(f => f.Kind == TriggerKind.Http);

    /// <summary>The HTTP functions whose route template matches <paramref name="path"/>, whatever their methods.</summary>
    public IEnumerable<FunctionDescriptor> Routing(PathString path) =>
        _routes.Where(r => r.Route.TryMatch(path, new RouteValueDictionary())).Select(r => r.Function);

    public FunctionDescriptor Get(string name) =>
        _byName.TryGetValue(name, out var function) ? function : throw new InvalidOperationException($"Unknown function '{name}'.");

    private static FunctionDescriptor? Describe(string name, MethodInfo method, List<string> problems)
    {
        foreach (var parameter in method.GetParameters())
        {
            if (parameter.GetCustomAttribute<HttpTriggerAttribute>() is { } http)
            {
                var access = method.GetCustomAttribute<AccessAttribute>();
                if (access is null) problems.Add($"HTTP function '{name}' declares no access rule (RequireScope, RequireApiKey, RequireDevice, RequireBootstrapKey or AllowAnonymousAccess).");
                var handlerName = method.GetCustomAttribute<HandledByAttribute>()?.Method;
                var handler = handlerName is null ? null
                    : method.DeclaringType!.GetMethod(handlerName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static);
                if (handler is null) problems.Add($"HTTP function '{name}' names no static handler (HandledBy).");
                return new FunctionDescriptor(name, method, TriggerKind.Http, http.Route,
                    (http.Methods ?? []).Select(m => m.ToUpperInvariant()).ToList(), Access: access,
                    Idempotent: method.IsDefined(typeof(AcceptIdempotencyKeyAttribute)),
                    ReplayThroughHandler: method.GetCustomAttribute<AcceptIdempotencyKeyAttribute>()?.ReplayThroughHandler == true, Handler: handler);
            }
            if (parameter.GetCustomAttribute<QueueTriggerAttribute>() is { } queue)
                return new FunctionDescriptor(name, method, TriggerKind.Queue, QueueName: queue.QueueName);
            if (parameter.GetCustomAttribute<TimerTriggerAttribute>() is { } timer)
                return new FunctionDescriptor(name, method, TriggerKind.Timer, Schedule: timer.Schedule);
            if (parameter.IsDefined(typeof(OrchestrationTriggerAttribute)))
                return new FunctionDescriptor(name, method, TriggerKind.Orchestration);
            if (parameter.IsDefined(typeof(ActivityTriggerAttribute)))
                return new FunctionDescriptor(name, method, TriggerKind.Activity);
        }
        problems.Add($"Function '{name}' has no HTTP, queue, timer, orchestration or activity trigger.");
        return null;
    }
}
