using System.Text.Json;
using D2.Detection.Checkpoint;
using D2.Detection.Inference;
using D2.Detection.Structures;

namespace D2.Detection.Evaluation;

/// <summary>
/// Detectron2's instances_to_coco_json and the <c>coco_instances_results.json</c> it becomes: one entry per detection with
/// the box as [x, y, width, height], the score, the class and (Mask R-CNN) the mask as a compressed RLE string.
/// </summary>
public static class CocoResultsWriter
{
    /// <summary>The results file name Detectron2's COCOEvaluator writes.</summary>
    public const string FileName = "coco_instances_results.json";

    /// <summary>One image's predictions as COCO results. Category ids are the model's contiguous class indices, as
    /// Detectron2 returns them; <see cref="DatasetEvaluation"/> maps them to the dataset's ids before writing.</summary>
    /// <param name="instances">pred_boxes (XYXY in original-image pixels), scores, pred_classes, optional pred_masks</param>
    public static List<CocoDetection> InstancesToCocoJson(Instances instances, long imageId)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var results = new List<CocoDetection>();
        if (instances.FieldNames.Count == 0 || instances.Length == 0)
            return results;
        var predictions = PredictionArrays.From(instances);
        for (var i = 0; i < predictions.Count; i++)
        {
            var b = predictions.Boxes.AsSpan(4 * i, 4);
            // BoxMode.convert(XYXY_ABS -> XYWH_ABS) runs on the float32 tensor: width and height are float32 differences.
            double[] xywh = [b[0], b[1], b[2] - b[0], b[3] - b[1]];
            var segmentation = predictions.HasMasks ? CocoSegmentation.FromRle(predictions.MaskRle(i)) : null;
            results.Add(new CocoDetection(imageId, predictions.Classes[i], predictions.Scores[i], xywh, segmentation));
        }
        return results;
    }

    /// <summary>Writes the results list (Detectron2's key order: image_id, category_id, bbox, score, segmentation).</summary>
    public static void Write(Utf8JsonWriter writer, IEnumerable<CocoDetection> detections)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(detections);
        writer.WriteStartArray();
        foreach (var detection in detections)
        {
            writer.WriteStartObject();
            writer.WriteNumber("image_id", detection.ImageId);
            writer.WriteNumber("category_id", detection.CategoryId);
            if (detection.Bbox is { } bbox)
            {
                writer.WriteStartArray("bbox");
                foreach (var value in bbox)
                    writer.WriteNumberValue(value);
                writer.WriteEndArray();
            }
            writer.WriteNumber("score", detection.Score);
            if (detection.Segmentation is { } segmentation)
            {
                writer.WritePropertyName("segmentation");
                writer.WriteRawValue(segmentation.ToString(), skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    /// <summary>Writes the results file atomically (a temporary file renamed when complete).</summary>
    public static void Write(string path, IEnumerable<CocoDetection> detections) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream);
            Write(writer, detections);
        });
}
