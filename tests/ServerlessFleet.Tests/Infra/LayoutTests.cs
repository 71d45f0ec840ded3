using System.Text.RegularExpressions;
using ServerlessFleet.DevStorage;

namespace ServerlessFleet.Tests.Infra;

/// <summary>The shape the code keeps: thin transports, one writer per stored row, middleware in one place.</summary>
public sealed partial class LayoutTests
{
    private static readonly string Root = RepositoryRoot.Find();

    private static IEnumerable<string> Sources(string project) =>
        Directory.EnumerateFiles(Path.Combine(Root, project), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    private static string Relative(string file) => Path.GetRelativePath(Root, file);

    [Fact]
    public void No_file_of_the_functions_app_is_longer_than_200_lines()
    {
        var long_ = Sources("functions").Select(f => (File: Relative(f), Lines: File.ReadAllLines(f).Length)).Where(f => f.Lines > 200).ToList();
        Assert.True(long_.Count == 0, string.Join(", ", long_.Select(f => $"{f.File} ({f.Lines} lines)")));
    }

    [Fact]
    public void The_device_row_is_mapped_and_written_by_the_device_store_alone()
    {
        var users = Sources("shared").Concat(Sources("functions")).Where(f => File.ReadAllText(f).Contains("DeviceEntity."))
            .Select(f => Path.GetFileName(f)).Order().ToList();
        Assert.All(users, file => Assert.Matches("^DeviceStore(\\..+)?\\.cs$|^DeviceEntity\\.cs$", file));
        Assert.Contains("DeviceStore.cs", users);
    }

    [Fact]
    public void The_mender_facade_calls_use_cases_not_other_api_classes()
    {
        var facade = File.ReadAllText(Path.Combine(Root, "functions/ServerlessFleet.Functions/Mender/MenderDeviceApi.cs"));
        var apiClasses = Sources("functions").Select(f => ApiClass().Match(File.ReadAllText(f))).Where(m => m.Success).Select(m => m.Groups[1].Value)
            .Where(name => name != "MenderDeviceApi").ToList();
        Assert.NotEmpty(apiClasses);
        Assert.All(apiClasses, name => Assert.DoesNotMatch($"\\b{name}\\b", facade));
    }

    [Fact]
    public void Each_middleware_lives_in_the_middleware_folder_in_a_file_named_after_it()
    {
        var middlewares = Sources("functions").SelectMany(f => Middleware().Matches(File.ReadAllText(f)).Select(m => (File: f, Name: m.Groups[1].Value))).ToList();
        Assert.True(middlewares.Count >= 7, $"found {middlewares.Count} middlewares");
        Assert.All(middlewares, m =>
        {
            Assert.Equal("Middleware", Path.GetFileName(Path.GetDirectoryName(m.File)));
            Assert.Equal(m.Name + ".cs", Path.GetFileName(m.File));
        });
    }

    [Theory]
    [InlineData("functions", "ServerlessFleet.Functions")]
    public void Feature_namespaces_do_not_depend_on_each_other_in_a_cycle(string project, string root)
    {
        // A file's namespace depends on every namespace of the project it imports or names.
        var edges = new Dictionary<string, HashSet<string>>();
        foreach (var file in Sources(project))
        {
            var text = File.ReadAllText(file);
            if (FileNamespace().Match(text) is not { Success: true } declared) continue;
            var from = declared.Groups[1].Value;
            foreach (Match used in ProjectNamespace(root).Matches(text))
                if (used.Groups[1].Value is var to && to != from && !from.StartsWith(to + ".", StringComparison.Ordinal) && !to.StartsWith(from + ".", StringComparison.Ordinal))
                    (edges.TryGetValue(from, out var set) ? set : edges[from] = []).Add(to);
        }
        var cycles = edges.SelectMany(e => e.Value.Where(to => Reaches(edges, to, e.Key)).Select(to => $"{e.Key} -> {to}")).ToList();
        Assert.True(cycles.Count == 0, "namespace cycles: " + string.Join("; ", cycles));
    }

    private static bool Reaches(Dictionary<string, HashSet<string>> edges, string from, string target)
    {
        var seen = new HashSet<string>();
        var pending = new Stack<string>([from]);
        while (pending.TryPop(out var at))
        {
            if (at == target) return true;
            if (seen.Add(at) && edges.TryGetValue(at, out var next)) foreach (var n in next) pending.Push(n);
        }
        return false;
    }

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();

    private static Regex ProjectNamespace(string root) => new($@"\busing ({Regex.Escape(root)}\.\w+)\s*;");

    [GeneratedRegex(@"\bclass (\w+Api)\b")]
    private static partial Regex ApiClass();

    [GeneratedRegex(@"\bsealed (?:partial )?class (\w+)\s*(?:\([^)]*\))?\s*:\s*(?:IFunctionsWorkerMiddleware|HttpFunctionMiddleware)\b")]
    private static partial Regex Middleware();
}
