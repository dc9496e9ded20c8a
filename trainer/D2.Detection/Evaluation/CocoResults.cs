using System.Text.Json;

namespace D2.Detection.Evaluation;

/// <summary>A COCO results list prepared as pycocotools' <c>COCO.loadRes</c> prepares it (ids 1..n in file order,
/// which only need to be non-zero for matching; iscrowd 0; an area per detection). The first entry decides the
/// kind for all of them: when it has a non-empty <c>bbox</c>, every area is the box's w*h (even for segm
/// evaluation, as in pycocotools); otherwise every entry needs a <c>segmentation</c>, its area is the mask area
/// and a missing box comes from the mask.</summary>
public sealed class CocoResults
{
    /// <exception cref="CocoFormatException">a detection refers to an image that is not in <paramref name="groundTruth"/>
    /// ("Results do not correspond to current coco set" in pycocotools), or lacks what its kind needs.</exception>
    public CocoResults(IEnumerable<CocoDetection> detections, CocoDataset groundTruth, string source = "results")
    {
        Source = source;
        Detections = [.. detections];
        for (var i = 0; i < Detections.Count; i++)
        {
            var imageId = Detections[i].ImageId;
            if (!groundTruth.ContainsImage(imageId))
                throw new CocoFormatException(source,
                    $"results do not correspond to the ground truth: entry [{i}] has image_id {imageId}, which is not an image of {groundTruth.Source}");
        }

        IsBoxResults = Detections.Count > 0 && Detections[0].Bbox is { Length: > 0 };
        HasSegmentation = Detections.Count > 0 && Detections.All(d => d.Segmentation is not null);
        for (var i = 0; i < Detections.Count; i++)
        {
            var detection = Detections[i];
            if (IsBoxResults)
            {
                if (detection.Bbox is not { Length: 4 })
                    throw new CocoFormatException(source,
                        $"entry [{i}] has no bbox [x, y, width, height], but the first entry has one, so every entry needs one");
            }
            else if (detection.Segmentation is null)
            {
                throw new CocoFormatException(source, Detections[0].Segmentation is null
                    ? "the first entry has neither a bbox nor a segmentation"
                    : $"entry [{i}] has no segmentation, but the first entry has no bbox, so every entry needs a segmentation");
            }
        }
    }

    public string Source { get; }

    public IReadOnlyList<CocoDetection> Detections { get; }

    /// <summary>True when areas are box areas (the first entry has a box).</summary>
    public bool IsBoxResults { get; }

    /// <summary>True when every detection has a mask, so segm evaluation is possible.</summary>
    public bool HasSegmentation { get; }

    /// <exception cref="CocoFormatException">missing file, invalid JSON, not a list, or a malformed entry.</exception>
    public static CocoResults Load(string path, CocoDataset groundTruth)
    {
        using var document = CocoJson.ParseFile(path);
        return Read(document.RootElement, new CocoJson(path), groundTruth);
    }

    public static CocoResults Parse(string json, CocoDataset groundTruth, string source = "results")
    {
        using var document = CocoJson.Parse(System.Text.Encoding.UTF8.GetBytes(json), source);
        return Read(document.RootElement, new CocoJson(source), groundTruth);
    }

    static CocoResults Read(JsonElement root, CocoJson json, CocoDataset groundTruth)
    {
        if (root.ValueKind != JsonValueKind.Array)
            throw json.Error($"must be a JSON array of results ({{\"image_id\", \"category_id\", \"bbox\" and/or \"segmentation\", \"score\"}}), found {CocoJson.Describe(root)}");
        var detections = new List<CocoDetection>(root.GetArrayLength());
        var i = 0;
        foreach (var item in root.EnumerateArray())
        {
            var where = $"entry [{i++}]";
            var bbox = CocoJson.Optional(item, "bbox");
            var segmentation = CocoJson.Optional(item, "segmentation");
            detections.Add(new CocoDetection(
                json.Id(json.Required(item, "image_id", where), $"{where}.image_id"),
                json.Id(json.Required(item, "category_id", where), $"{where}.category_id"),
                json.Number(json.Required(item, "score", where), $"{where}.score"),
                bbox is { } b ? ReadBox(json, b, $"{where}.bbox") : null,
                segmentation is { } s ? CocoSegmentation.Read(s, json, $"{where}.segmentation") : null));
        }
        return new CocoResults(detections, groundTruth, json.Source);
    }

    // An empty list means "no box" to loadRes; anything else must be a COCO box.
    static double[] ReadBox(CocoJson json, JsonElement value, string where) =>
        value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0 ? [] : json.Box(value, where);
}
