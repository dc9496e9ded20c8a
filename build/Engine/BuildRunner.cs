using System.Diagnostics;
using Spectre.Console;

namespace D2.Build.Engine;

/// <summary>Runs a build class: parses the invocation, prints help or the plan, or executes targets and prints the summary.</summary>
public static class BuildRunner
{
    /// <param name="output">where to write (the console when null); help and plan are plain text, never wrapped.</param>
    public static async Task<int> RunAsync(BuildBase build, string[] args, string defaultTarget, TextWriter? output = null)
    {
        output ??= Console.Out;
        var console = output == Console.Out
            ? AnsiConsole.Console
            : AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        BuildModel model;
        BuildInvocation invocation;
        IReadOnlyList<PlannedTarget> plan;
        try
        {
            model = new BuildModel(build);
            var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
            invocation = BuildInvocation.Parse(model, args, environment, defaultTarget);
            if (invocation.Help)
            {
                HelpText.Write(output, model, defaultTarget);
                return 0;
            }
            plan = ExecutionPlan.Create(model, invocation.Targets, invocation.Skip);
        }
        catch (BuildUsageException e)
        {
            var error = output == Console.Out ? Console.Error : output;
            error.WriteLine($"error: {e.Message}");
            error.WriteLine("Run with --help for targets and parameters.");
            return 2;
        }

        if (invocation.Plan)
        {
            output.WriteLine("Execution plan (nothing is run):");
            foreach (var (entry, index) in plan.Select((p, i) => (p, i + 1)))
                output.WriteLine($"  {index}. {entry.Definition.Name}{(entry.Status == TargetStatus.Skipped ? " (skipped)" : "")}  {entry.Definition.DescriptionText}");
            foreach (var parameter in model.Parameters)
                output.WriteLine($"  --{parameter.CliName} = {parameter.DisplayValue}");
            return 0;
        }

        var failed = false;
        foreach (var entry in plan)
        {
            if (entry.Status == TargetStatus.Skipped)
                continue;
            if (failed)
            {
                entry.Status = TargetStatus.NotRun;
                continue;
            }
            console.Write(new Rule($"[bold]{Markup.Escape(entry.Definition.Name)}[/]").LeftJustified());
            build.NoteSink = note => entry.Note = note;
            var watch = Stopwatch.StartNew();
            try
            {
                foreach (var action in entry.Definition.Actions)
                    await action();
                entry.Status = TargetStatus.Succeeded;
            }
            catch (Exception e)
            {
                entry.Status = TargetStatus.Failed;
                entry.Note = e is BuildFailedException or BuildUsageException ? e.Message : e.ToString();
                console.MarkupLine($"[red]Target {Markup.Escape(entry.Definition.Name)} failed:[/] {Markup.Escape(entry.Note)}");
                failed = true;
            }
            entry.Duration = watch.Elapsed;
        }

        WriteSummary(console, plan);
        foreach (var line in build.ClosingLines)
            output.WriteLine(line);
        return failed ? 1 : 0;
    }

    private static void WriteSummary(IAnsiConsole console, IReadOnlyList<PlannedTarget> plan)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumns("Target", "Status", "Duration", "Note");
        foreach (var entry in plan)
        {
            var color = entry.Status switch { TargetStatus.Succeeded => "green", TargetStatus.Failed => "red", _ => "grey" };
            table.AddRow(
                Markup.Escape(entry.Definition.Name),
                $"[{color}]{entry.Status}[/]",
                entry.Status is TargetStatus.Succeeded or TargetStatus.Failed ? entry.Duration.ToString(@"m\:ss\.f", System.Globalization.CultureInfo.InvariantCulture) : "",
                Markup.Escape(FirstLine(entry.Note)));
        }
        var total = TimeSpan.FromTicks(plan.Sum(p => p.Duration.Ticks));
        table.AddRow("Total", "", total.ToString(@"m\:ss\.f", System.Globalization.CultureInfo.InvariantCulture), "");
        console.Write(table);
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n')[0].Trim();
        return line.Length > 100 ? line[..97] + "..." : line;
    }
}
