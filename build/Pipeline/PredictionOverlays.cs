using D2.Build.Tools;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;
using D2.Operations.Pipeline;
using D2.SageMaker.Contract;

namespace D2.Build.Pipeline;

/// <summary>
/// The report's three prediction overlays: the job's own model.tar.gz unpacked and `d2 predict` (the same Predictor
/// the serving image runs) on the first three images of the job's validation channel. No endpoint is created for it:
/// that would cost an instance on AWS and minutes of start-up; Deploy is where the serving path is proven. Only a
/// file:// validation channel (the local SageMaker) is read; on AWS the report says the overlays were left out.
/// </summary>
internal static class PredictionOverlays
{
    public const int Count = 3;

    public static async Task<(IReadOnlyList<(string Name, string Png)> Overlays, string? Skipped)> RenderAsync(
        string d2Dll, TrainingArtifacts artifacts, DescribeTrainingJobResponse job, string workFolder, string root)
    {
        var channel = job.InputDataConfig?.FirstOrDefault(c => c.ChannelName == TrainerHyperParameters.ValidationChannel)
            ?? job.InputDataConfig?.FirstOrDefault(c => c.ChannelName == TrainerHyperParameters.TrainingChannel);
        var uri = channel?.DataSource?.S3DataSource?.S3Uri;
        if (uri is null || !uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
            return ([], $"overlays need a local validation channel (the job's is {uri ?? "missing"})");
        var folder = new Uri(uri).LocalPath;
        var images = Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png")
                .Order(StringComparer.Ordinal).Take(Count).ToList()
            : [];
        if (images.Count == 0)
            return ([], $"no images in {folder}");
        var model = artifacts.ExtractModel(Path.Combine(workFolder, "model"));
        var overlays = new List<(string, string)>();
        foreach (var image in images)
        {
            var name = Path.GetFileNameWithoutExtension(image);
            var png = Path.Combine(workFolder, name + ".png");
            await ProcessTasks.RunAsync("dotnet", [d2Dll, "predict", "--model", model, "--image", image, "--out", png,
                "--json", Path.Combine(workFolder, name + ".json"), "--device", "cpu"], root);
            overlays.Add((name, png));
        }
        return (overlays, null);
    }
}
