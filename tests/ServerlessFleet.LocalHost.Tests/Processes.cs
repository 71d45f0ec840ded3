namespace ServerlessFleet.LocalHost.Tests;

internal static class Processes
{
    /// <summary>
    /// Alive and not a zombie: a process orphaned and killed stays in the table as a zombie until init reaps it, and
    /// counts as ended.
    /// </summary>
    public static bool Running(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }
}
