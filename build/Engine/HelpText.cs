namespace D2.Build.Engine;

/// <summary>--help: generated from the same declarations the build runs.</summary>
internal static class HelpText
{
    public static void Write(TextWriter console, BuildModel model, string defaultTarget)
    {
        console.WriteLine("usage: ./build.sh [targets...] [--skip [targets...]] [--plan] [--help] [--parameter value...]");
        console.WriteLine("       dotnet pwsh ./build.ps1 (same arguments)");
        console.WriteLine();
        console.WriteLine("Targets (default marked *):");
        var width = model.Targets.Max(t => t.Name.Length) + 2;
        foreach (var target in model.Targets)
        {
            var marker = string.Equals(target.Name, defaultTarget, StringComparison.OrdinalIgnoreCase) ? "*" : " ";
            var dependencies = target.DependsOnTargets.Count == 0 ? "" : $" (depends on: {string.Join(", ", target.DependsOnTargets.Select(t => model.Resolve(t).Name))})";
            console.WriteLine($"  {marker}{target.Name.PadRight(width)}{target.DescriptionText}{dependencies}");
        }
        console.WriteLine();
        console.WriteLine("Parameters (command line, else environment variable NAME or D2_NAME):");
        var parameterWidth = model.Parameters.Count == 0 ? 0 : model.Parameters.Max(p => p.CliName.Length) + 4;
        foreach (var parameter in model.Parameters)
        {
            var allowed = parameter.AllowedValues.Length > 0 ? $" [{string.Join("|", parameter.AllowedValues)}]" : "";
            console.WriteLine($"  {("--" + parameter.CliName).PadRight(parameterWidth)}{parameter.Description}{allowed} (now: {parameter.DisplayValue})");
        }
        console.WriteLine();
        console.WriteLine("Options:");
        console.WriteLine("  --skip [targets]  skip the named targets; with no names, skip every target that was not invoked");
        console.WriteLine("  --plan            print the execution plan and the parameter values, run nothing");
        console.WriteLine("  --help            this text");
    }
}
