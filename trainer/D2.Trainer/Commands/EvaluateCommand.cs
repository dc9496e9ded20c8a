using System.CommandLine;
using System.Text.Json;
using D2.Detection.Evaluation;

namespace D2.Trainer.Commands;

/// <summary>`d2 evaluate`: COCO evaluation of a results file against a ground-truth file, with pycocotools' numbers
/// (COCOeval) reported the way Detectron2's COCOEvaluator reports them.</summary>
internal static class EvaluateCommand
{
    /// <summary>Exit code for unusable input: a missing or malformed file, an unknown IoU type, segm without masks.</summary>
    public const int BadInput = 2;

    public static Command Create()
    {
        // Checked in the action rather than marked Required, so that a missing file name is bad input (exit 2) too.
        var annotations = new Option<string>("--annotations") { Description = "Required: COCO ground-truth JSON (images, annotations, categories)." };
        var results = new Option<string>("--results") { Description = "Required: COCO results JSON, a list of {image_id, category_id, bbox and/or segmentation, score} (Detectron2's coco_instances_results.json)." };
        var iouTypes = new Option<string[]>("--iou-type")
        {
            Description = "bbox and/or segm; repeat the option or separate with commas (bbox,segm).",
            DefaultValueFactory = _ => ["bbox"],
            AllowMultipleArgumentsPerToken = true,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object {\"bbox\": {\"AP\": .., \"AP50\": .., ..., \"AP-<name>\": .., \"stats\": [12 numbers]}}. AP values are percent and null where undefined (NaN in Detectron2); stats are pycocotools' fractions with -1 where undefined." };
        var command = new Command("evaluate", "COCO evaluation (pycocotools' COCOeval semantics) of a results file; reports AP, AP50, AP75, APs, APm, APl, per-category AP and the 12 COCO stats.")
        {
            annotations, results, iouTypes, json,
        };
        command.SetAction(parse => Run(parse.GetValue(annotations), parse.GetValue(results), parse.GetValue(iouTypes) ?? ["bbox"], parse.GetValue(json)));
        return command;
    }

    static int Run(string? annotationsPath, string? resultsPath, string[] iouTypeArguments, bool json)
    {
        List<CocoIouType> types;
        try
        {
            if (string.IsNullOrWhiteSpace(annotationsPath))
                throw new ArgumentException("--annotations is required: the COCO ground-truth JSON file.");
            if (string.IsNullOrWhiteSpace(resultsPath))
                throw new ArgumentException("--results is required: the COCO results JSON file.");
            types = ParseIouTypes(iouTypeArguments);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return BadInput;
        }

        var metrics = new List<CocoMetrics>();
        try
        {
            var groundTruth = CocoDataset.Load(annotationsPath);
            var detections = CocoResults.Load(resultsPath, groundTruth);
            if (types.Contains(CocoIouType.Segm) && detections.Detections.Count > 0 && !detections.HasSegmentation)
                throw new CocoFormatException(resultsPath, "segm evaluation was requested but not every result has a \"segmentation\"");
            WarnAboutIgnoredResults(groundTruth, detections);
            foreach (var type in types)
            {
                var evaluation = CocoEvaluator.Evaluate(groundTruth, detections, type);
                metrics.Add(CocoMetrics.From(evaluation, groundTruth));
            }
        }
        catch (CocoFormatException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return BadInput;
        }

        if (json)
            WriteJson(metrics);
        else
            WriteText(metrics);
        return 0;
    }

    static List<CocoIouType> ParseIouTypes(IEnumerable<string> arguments)
    {
        var types = new List<CocoIouType>();
        foreach (var name in arguments.SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var type = name.ToLowerInvariant() switch
            {
                "bbox" => CocoIouType.Bbox,
                "segm" => CocoIouType.Segm,
                _ => throw new ArgumentException($"--iou-type '{name}' is not supported: use bbox or segm (keypoints are not evaluated)."),
            };
            if (!types.Contains(type))
                types.Add(type);
        }
        return types.Count > 0 ? types : throw new ArgumentException("--iou-type needs at least one of bbox, segm.");
    }

    static void WarnAboutIgnoredResults(CocoDataset groundTruth, CocoResults results)
    {
        if (results.Detections.Count == 0)
            Console.Error.WriteLine($"warning: {results.Source} holds no detections: every AP is 0 (Detectron2 would report NaN, pycocotools would fail).");
        var categories = groundTruth.CategoryIds.ToHashSet();
        var unknown = results.Detections.Count(d => !categories.Contains(d.CategoryId));
        if (unknown > 0)
            Console.Error.WriteLine($"warning: {unknown} results have a category_id that is not a category of {groundTruth.Source}; they are ignored, as pycocotools does.");
    }

    static void WriteJson(List<CocoMetrics> metrics)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach (var task in metrics)
            {
                writer.WritePropertyName(task.TaskName);
                task.WriteJson(writer);
            }
            writer.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    static void WriteText(List<CocoMetrics> metrics)
    {
        foreach (var task in metrics)
        {
            Console.WriteLine($"Evaluate annotation type *{task.TaskName}*");
            foreach (var line in task.SummaryLines)
                Console.WriteLine(line);
            Console.Write(task.FormatTables());
            Console.WriteLine();
        }
    }
}
