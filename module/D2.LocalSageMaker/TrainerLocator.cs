namespace D2.LocalSageMaker;

/// <summary>
/// The default training container of the tool: the trainer `d2` published or built beside this tool (its apphost, or
/// `dotnet d2.dll` when this tool itself runs under the dotnet host, as in the tests), else `d2` on PATH.
/// </summary>
internal static class TrainerLocator
{
    public static string[] Find() => Find(AppContext.BaseDirectory, Environment.ProcessPath);

    internal static string[] Find(string toolDirectory, string? processPath)
    {
        var apphost = Path.Combine(toolDirectory, "d2");
        var dll = Path.Combine(toolDirectory, "d2.dll");
        var underDotnet = processPath is not null
            && Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        if (underDotnet && File.Exists(dll))
            return [processPath!, dll];
        if (File.Exists(apphost))
            return [apphost];
        if (File.Exists(dll))
            return ["dotnet", dll];
        return ["d2"];
    }
}
