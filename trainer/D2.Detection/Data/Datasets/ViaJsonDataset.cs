using System.Text.Json;
using D2.Detection.Evaluation;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// A VGG Image Annotator export (<c>via_region_data.json</c>, as in the balloon dataset) read the way the Detectron2
/// balloon tutorial's <c>get_balloon_dicts</c> reads it: one class, every polygon region an instance.
/// </summary>
public static class ViaJsonDataset
{
    /// <summary>VIA 2 project files wrap the per-image entries in this member; VIA 1 exports are the entries themselves.</summary>
    const string Via2Metadata = "_via_img_metadata";

    /// <summary>Loads the file. Image ids are the entries' positions in the file; sizes come from the image headers.</summary>
    /// <param name="viaJson">the VIA json file</param>
    /// <param name="imageRoot">folder the <c>filename</c> values are relative to; the json's folder when null</param>
    /// <param name="className">the single class's name (contiguous id 0)</param>
    /// <param name="datasetName">metadata name; the json path when null</param>
    /// <param name="log">where warnings go (standard error when null)</param>
    /// <exception cref="DatasetException">missing or malformed json, a missing field, a missing or unreadable image.</exception>
    public static (List<DatasetRecord> Records, DatasetMetadata Metadata) Load(string viaJson, string? imageRoot = null, string className = "balloon",
        string? datasetName = null, TextWriter? log = null)
    {
        using var document = DatasetJsonFile.Parse(viaJson);
        return Load(document.RootElement, viaJson, imageRoot, className, datasetName, log);
    }

    /// <summary>True when the json looks like a VIA export: entries with <c>filename</c> and <c>regions</c>, or a VIA 2 project.</summary>
    internal static bool LooksLikeVia(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && (root.TryGetProperty(Via2Metadata, out _)
            || root.EnumerateObject().Any() && root.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("filename", out _)));

    internal static (List<DatasetRecord> Records, DatasetMetadata Metadata) Load(JsonElement root, string viaJson, string? imageRoot, string className,
        string? datasetName, TextWriter? log)
    {
        var folder = Path.GetFullPath(imageRoot ?? Path.GetDirectoryName(Path.GetFullPath(viaJson))!);
        var records = DatasetJsonFile.Translate(() => Read(root, new CocoJson(viaJson), folder, new DatasetLog(log)));
        var metadata = new DatasetMetadata(datasetName ?? viaJson, [className], new Dictionary<int, int> { [0] = 0 }, viaJson, folder);
        return (records, metadata);
    }

    static List<DatasetRecord> Read(JsonElement root, CocoJson json, string folder, DatasetLog log)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw json.Error($"must be a VIA json object keyed by image, found {CocoJson.Describe(root)}");
        var entries = root.TryGetProperty(Via2Metadata, out var wrapped) ? wrapped : root;
        if (entries.ValueKind != JsonValueKind.Object)
            throw json.Error($"{Via2Metadata} must be a JSON object keyed by image, found {CocoJson.Describe(entries)}");

        var records = new List<DatasetRecord>();
        foreach (var entry in entries.EnumerateObject())
        {
            var where = $"\"{entry.Name}\"";
            var fileNameElement = json.Required(entry.Value, "filename", where);
            if (fileNameElement.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(fileNameElement.GetString()))
                throw json.Error($"{where}.filename must be a non-empty string, found {CocoJson.Describe(fileNameElement)}");
            var fileName = Path.GetFullPath(Path.Combine(folder, fileNameElement.GetString()!));
            var (height, width) = ImageHeader.ReadSize(fileName, json.Source);
            var annotations = new List<DatasetAnnotation>();
            foreach (var (regionName, region) in Regions(json.Required(entry.Value, "regions", where), json, $"{where}.regions"))
            {
                var annotation = ReadRegion(region, json, $"{where}.regions[{regionName}]", fileName, log);
                if (annotation is not null)
                    annotations.Add(annotation);
            }
            records.Add(new DatasetRecord(fileName, height, width, records.Count, annotations));
        }
        return records;
    }

    /// <summary>VIA 1 writes regions as an object keyed "0", "1", ...; VIA 2 writes a list.</summary>
    static IEnumerable<(string Name, JsonElement Region)> Regions(JsonElement regions, CocoJson json, string where) => regions.ValueKind switch
    {
        JsonValueKind.Object => regions.EnumerateObject().Select(p => (p.Name, p.Value)),
        JsonValueKind.Array => regions.EnumerateArray().Select((r, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), r)),
        _ => throw json.Error($"{where} must be an object or a list of regions, found {CocoJson.Describe(regions)}"),
    };

    /// <returns>null for a region that is not a usable polygon (skipped with a warning).</returns>
    static DatasetAnnotation? ReadRegion(JsonElement region, CocoJson json, string where, string fileName, DatasetLog log)
    {
        var shape = json.Required(region, "shape_attributes", where);
        if (CocoJson.Optional(shape, "name") is { ValueKind: JsonValueKind.String } name && name.GetString() != "polygon")
        {
            log.Warning($"{json.Source}: {where} of {fileName} is a \"{name.GetString()}\", not a polygon; skipped.");
            return null;
        }
        var xs = json.Numbers(json.Required(shape, "all_points_x", $"{where}.shape_attributes"), $"{where}.shape_attributes.all_points_x");
        var ys = json.Numbers(json.Required(shape, "all_points_y", $"{where}.shape_attributes"), $"{where}.shape_attributes.all_points_y");
        var problem = xs.Length != ys.Length ? $"has {xs.Length} x but {ys.Length} y coordinates"
            : xs.Length < 3 ? $"has {xs.Length} points; a polygon needs at least 3"
            : Area(xs, ys) == 0 ? "encloses no area"
            : null;
        if (problem is not null)
        {
            log.Warning($"{json.Source}: {where} of {fileName} {problem}; skipped.");
            return null;
        }
        // As the tutorial: points move to pixel centres (+0.5) for the mask, the box comes from the unshifted points.
        var polygon = new double[2 * xs.Length];
        for (var i = 0; i < xs.Length; i++)
        {
            polygon[2 * i] = xs[i] + 0.5;
            polygon[2 * i + 1] = ys[i] + 0.5;
        }
        double[] box = [xs.Min(), ys.Min(), xs.Max(), ys.Max()];
        return new DatasetAnnotation(box, CategoryId: 0, IsCrowd: false, Polygons: [polygon]);
    }

    static double Area(double[] xs, double[] ys)
    {
        var twice = 0.0;
        for (int i = 0, j = xs.Length - 1; i < xs.Length; j = i++)
            twice += xs[j] * ys[i] - xs[i] * ys[j];
        return Math.Abs(twice) / 2;
    }
}
