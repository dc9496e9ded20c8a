using System.Text.Json;
using D2.Detection.Checkpoint;

namespace D2.Trainer.Training;

/// <summary>Writes evaluation.json: Detectron2's results dict (task -> metric -> percent), NaN as null.</summary>
internal static class EvaluationSummary
{
    public const string FileName = "evaluation.json";

    public static void Write(string outputDirectory, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> results, TextWriter log)
    {
        var path = Path.Combine(outputDirectory, FileName);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach (var (task, metrics) in results)
            {
                writer.WriteStartObject(task);
                foreach (var (name, value) in metrics)
                {
                    if (double.IsFinite(value)) writer.WriteNumber(name, value); else writer.WriteNull(name);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        var bytes = stream.ToArray();
        AtomicFile.Write(path, file => file.Write(bytes));
        log.WriteLine($"Evaluation: {path}");
    }
}
