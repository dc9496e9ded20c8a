using D2.Operations.Pipeline;
using Spectre.Console;

namespace D2.Build.Pipeline;

/// <summary>
/// Shows a followed training job: on a terminal one live progress bar (status/secondary status, iteration of MAX_ITER,
/// total loss, ETA); when the output is redirected (CI logs, tests) a plain line per change, so logs stay readable.
/// </summary>
internal static class TrainingDisplay
{
    public static bool IsLive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="follow"/> with a progress sink that draws on the console.</summary>
    public static async Task<T> ShowAsync<T>(string jobName, Func<IProgress<TrainingSnapshot>, Task<T>> follow, TextWriter plain)
    {
        if (!IsLive)
            return await follow(new PlainProgress(plain));

        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(jobName), maxValue: 1);
                task.IsIndeterminate = true;
                result = await follow(new LiveProgress(task));
                task.Value = task.MaxValue;
                task.StopTask();
            });
        return result;
    }

    /// <summary>The status part of a snapshot, as the live bar's description shows it.</summary>
    public static string Describe(TrainingSnapshot s)
    {
        var text = $"{s.JobName} {s.Status}/{s.SecondaryStatus}";
        if (s.Iteration is { } iter)
            text += $"  iter {iter}{(s.MaxIter is { } max ? "/" + max : "")}";
        if (s.TotalLoss is { } loss)
            text += $"  loss {loss.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)}";
        if (s.Eta is { } eta)
            text += $"  eta {eta:c}";
        return text;
    }

    private sealed class PlainProgress(TextWriter writer) : IProgress<TrainingSnapshot>
    {
        public void Report(TrainingSnapshot value)
        {
            lock (writer)
                writer.WriteLine(value.ToString());
        }
    }

    private sealed class LiveProgress(ProgressTask task) : IProgress<TrainingSnapshot>
    {
        public void Report(TrainingSnapshot value)
        {
            task.Description = Markup.Escape(Describe(value));
            if (value.MaxIter is { } max && value.Iteration is { } iter)
            {
                task.IsIndeterminate = false;
                task.MaxValue = max;
                task.Value = Math.Min(iter, max);
            }
        }
    }
}
