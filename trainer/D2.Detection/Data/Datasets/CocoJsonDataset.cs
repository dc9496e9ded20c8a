using System.Globalization;
using System.Text.Json;
using D2.Detection.Evaluation;
using D2.Detection.Structures;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// Detectron2's <c>load_coco_json</c>: a COCO instances file (<c>instances_train2017.json</c> or any file in that
/// format) as dataset records plus the metadata that maps the file's category ids to contiguous class indices.
/// <para>
/// Files are read in one streaming pass (<see cref="CocoJsonStream"/>: no DOM, about the records' size in memory).
/// The document reader below stays the one that words every error: when the streaming pass meets anything it would
/// reject, it hands the file to the document reader, which reports it, so both readers accept the same files with the
/// same results and reject the rest with the same messages.
/// </para>
/// </summary>
public static partial class CocoJsonDataset
{
    /// <summary>Annotations dropped for lack of a valid polygon are named one by one up to this many, then counted.</summary>
    const int NamedDropLimit = 10;

    /// <summary>Loads the file. Records are in ascending image id; each record's annotations keep the file's order.</summary>
    /// <param name="jsonFile">the COCO json file</param>
    /// <param name="imageRoot">folder that the images' <c>file_name</c> values are relative to</param>
    /// <param name="datasetName">the name the dataset is registered under (metadata name)</param>
    /// <param name="log">where warnings and the summary line go (standard error when null)</param>
    /// <exception cref="DatasetException">missing file, invalid JSON, a missing or malformed field, a category id not
    /// in <c>categories</c>, repeated annotation ids, or an annotation marked <c>ignore</c>.</exception>
    public static (List<DatasetRecord> Records, DatasetMetadata Metadata) Load(string jsonFile, string imageRoot, string datasetName, TextWriter? log = null) =>
        TryLoadStreaming(jsonFile, imageRoot, datasetName, log) ?? LoadWithDocument(jsonFile, imageRoot, datasetName, log);

    /// <summary>As <see cref="Load(string, string, string, TextWriter?)"/> through a <see cref="JsonDocument"/> of the
    /// whole file: the reference the streaming pass is checked against, and the reader of files it does not take.</summary>
    internal static (List<DatasetRecord> Records, DatasetMetadata Metadata) LoadWithDocument(string jsonFile, string imageRoot, string datasetName, TextWriter? log)
    {
        using var document = DatasetJsonFile.Parse(jsonFile);
        return Load(document.RootElement, jsonFile, imageRoot, datasetName, log);
    }

    /// <summary>As <see cref="Load(string, string, string, TextWriter?)"/> on an already parsed file (the catalog parses once to detect the format).</summary>
    internal static (List<DatasetRecord> Records, DatasetMetadata Metadata) Load(JsonElement root, string jsonFile, string imageRoot, string datasetName, TextWriter? log) =>
        DatasetJsonFile.Translate(() => Read(root, new CocoJson(jsonFile), imageRoot, datasetName, new DatasetLog(log)));

    static (List<DatasetRecord>, DatasetMetadata) Read(JsonElement root, CocoJson json, string imageRoot, string datasetName, DatasetLog log)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw json.Error($"must be a COCO JSON object with \"images\", \"annotations\" and \"categories\", found {CocoJson.Describe(root)}");

        var (thingClasses, idMap) = ReadCategories(root, json, datasetName, log);
        var images = ReadImages(root, json);
        var perImage = images.Keys.ToDictionary(id => id, _ => new List<DatasetAnnotation>());
        var annotationIds = new HashSet<long>();
        var matched = 0;
        var total = 0;
        var withoutValidSegmentation = new List<long>();
        if (CocoJson.Optional(root, "annotations") is { } annotationArray)
        {
            foreach (var item in json.Array(annotationArray, "annotations"))
            {
                var where = $"annotations[{total++}]";
                var id = json.Id(json.Required(item, "id", where), $"{where}.id");
                var imageId = json.Id(json.Required(item, "image_id", where), $"{where}.image_id");
                // pycocotools indexes annotations by image; those of unlisted images are never reached (counted below).
                if (!images.TryGetValue(imageId, out var image))
                    continue;
                matched++;
                // Detectron2 asserts unique annotation ids, except in the 2014 minival files, which repeat some.
                if (!annotationIds.Add(id) && !json.Source.Contains("minival", StringComparison.Ordinal))
                    throw json.Error($"annotation ids are not unique: {where} repeats id {id}");
                if (CocoJson.Optional(item, "ignore") is { } ignore && json.Number(ignore, $"{where}.ignore") != 0)
                    throw json.Error($"{where} (id {id}) has \"ignore\": {ignore.GetRawText()}; \"ignore\" in COCO json files is not supported (as in Detectron2)");
                var annotation = ReadAnnotation(item, json, where, id, image, idMap);
                if (annotation is null)
                    withoutValidSegmentation.Add(id);
                else
                    perImage[imageId].Add(annotation);
            }
        }
        if (matched < total)
            log.Warning($"{json.Source} contains {total} annotations, but only {matched} of them match to images in the file.");
        ReportDropped(withoutValidSegmentation, json.Source, log);

        return Finish(images, perImage, json.Source, imageRoot, datasetName, thingClasses, idMap, log);
    }

    /// <summary>Records in ascending image id (images without annotations included), the summary line, and the metadata.</summary>
    static (List<DatasetRecord>, DatasetMetadata) Finish(Dictionary<long, CocoImage> images, Dictionary<long, List<DatasetAnnotation>> perImage,
        string source, string imageRoot, string datasetName, List<string> thingClasses, Dictionary<int, int> idMap, DatasetLog log)
    {
        var records = images.Keys.Order()
            .Select(id => images[id])
            .Select(image => new DatasetRecord(Path.GetFullPath(Path.Combine(imageRoot, image.FileName)), image.Height, image.Width, image.Id,
                perImage.TryGetValue(image.Id, out var annotations) ? annotations : []))
            .ToList();
        log.Info($"Loaded {records.Count} images in COCO format from {source}");
        var metadata = new DatasetMetadata(datasetName, thingClasses, idMap, source, imageRoot);
        return (records, metadata);
    }

    static (List<string>, Dictionary<int, int>) ReadCategories(JsonElement root, CocoJson json, string datasetName, DatasetLog log)
    {
        // pycocotools keys categories by id, so a repeated id keeps its last name.
        var names = new Dictionary<int, string>();
        var i = 0;
        foreach (var item in json.Array(json.Required(root, "categories", "the top-level object"), "categories"))
        {
            var where = $"categories[{i++}]";
            var id = json.Int(json.Required(item, "id", where), $"{where}.id");
            var name = json.Required(item, "name", where);
            names[id] = name.ValueKind == JsonValueKind.String ? name.GetString()! : throw json.Error($"{where}.name must be a string, found {CocoJson.Describe(name)}");
        }
        var (thingClasses, idMap, remapped) = MapCategories(names, datasetName);
        if (remapped)
            WarnRemapped(datasetName, log);
        return (thingClasses, idMap);
    }

    /// <returns>the class names and id map, and whether Detectron2 warns that it remaps the ids.</returns>
    static (List<string> ThingClasses, Dictionary<int, int> IdMap, bool Remapped) MapCategories(Dictionary<int, string> names, string datasetName)
    {
        // Contiguous ids follow the sorted json ids: COCO's 1..90 with gaps become 0..79, and thing_classes follow that order.
        var sortedIds = names.Keys.Order().ToList();
        var remapped = sortedIds.Count > 0 && !(sortedIds[0] == 1 && sortedIds[^1] == sortedIds.Count) && !datasetName.Contains("coco", StringComparison.Ordinal);
        var idMap = new Dictionary<int, int>();
        for (var contiguous = 0; contiguous < sortedIds.Count; contiguous++)
            idMap[sortedIds[contiguous]] = contiguous;
        return ([.. sortedIds.Select(id => names[id])], idMap, remapped);
    }

    static void WarnRemapped(string datasetName, DatasetLog log) =>
        log.Warning($"Category ids in annotations are not in [1, #categories]! We'll apply a mapping for you ({datasetName}).");

    static Dictionary<long, CocoImage> ReadImages(JsonElement root, CocoJson json)
    {
        // A repeated image id keeps its last entry, as pycocotools' index does.
        var images = new Dictionary<long, CocoImage>();
        var i = 0;
        foreach (var item in json.Array(json.Required(root, "images", "the top-level object"), "images"))
        {
            var where = $"images[{i++}]";
            var id = json.Id(json.Required(item, "id", where), $"{where}.id");
            var fileName = json.Required(item, "file_name", where);
            if (fileName.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(fileName.GetString()))
                throw json.Error($"{where}.file_name must be a non-empty string, found {CocoJson.Describe(fileName)}");
            var height = json.Int(json.Required(item, "height", where), $"{where}.height");
            var width = json.Int(json.Required(item, "width", where), $"{where}.width");
            images[id] = new CocoImage(id, fileName.GetString()!, height, width);
        }
        return images;
    }

    /// <returns>null when the annotation has polygons but none is valid: Detectron2 drops such an annotation.</returns>
    static DatasetAnnotation? ReadAnnotation(JsonElement item, CocoJson json, string where, long id, CocoImage image, Dictionary<int, int> idMap)
    {
        var categoryId = json.Id(json.Required(item, "category_id", where), $"{where}.category_id");
        if (categoryId is < int.MinValue or > int.MaxValue || !idMap.TryGetValue((int)categoryId, out var contiguous))
            throw json.Error($"{where} (id {id}) has category_id {categoryId}, which is not in \"categories\"");
        var box = json.Box(json.Required(item, "bbox", where), $"{where}.bbox");
        // COCO boxes are XYWH_ABS; records hold XYXY_ABS.
        double[] xyxy = [box[0], box[1], box[0] + box[2], box[1] + box[3]];
        var isCrowd = CocoJson.Optional(item, "iscrowd") is { } crowd && json.Flag(crowd, $"{where}.iscrowd");
        var segmentation = CocoJson.Optional(item, "segmentation");
        switch (segmentation)
        {
            case null:
                return new DatasetAnnotation(xyxy, contiguous, isCrowd);
            case { ValueKind: JsonValueKind.Object } rle:
                return new DatasetAnnotation(xyxy, contiguous, isCrowd, Mask: ReadRle(rle, json, where, id, image));
            case { ValueKind: JsonValueKind.Array } list:
                // An empty list is "no segmentation" in Detectron2 (`if segm:`), not an invalid one.
                if (list.GetArrayLength() == 0)
                    return new DatasetAnnotation(xyxy, contiguous, isCrowd);
                var polygons = ValidPolygons(list, json, $"{where}.segmentation");
                return polygons.Count == 0 ? null : new DatasetAnnotation(xyxy, contiguous, isCrowd, polygons);
            case { } other:
                throw json.Error($"{where}.segmentation must be a polygon list or an RLE object {{\"size\", \"counts\"}}, found {CocoJson.Describe(other)}");
        }
    }

    /// <summary>Detectron2 keeps polygons with an even number of coordinates, at least 6 (three points).</summary>
    static List<double[]> ValidPolygons(JsonElement list, CocoJson json, string where)
    {
        var polygons = new List<double[]>();
        var i = 0;
        foreach (var polygon in list.EnumerateArray())
        {
            var coordinates = json.Numbers(polygon, $"{where}[{i++}]");
            if (coordinates.Length % 2 == 0 && coordinates.Length >= 6)
                polygons.Add(coordinates);
        }
        return polygons;
    }

    /// <summary>Compressed RLE is taken as is; uncompressed (a list of runs) is converted, as Detectron2 does with frPyObjects.</summary>
    static Rle ReadRle(JsonElement rle, CocoJson json, string where, long id, CocoImage image)
    {
        try
        {
            return Rle.FromCocoSegmentation(rle, image.Height, image.Width);
        }
        catch (FormatException e)
        {
            throw json.Error($"{where}.segmentation (annotation id {id}, image id {image.Id}) is not a usable RLE: {e.Message}");
        }
    }

    static void ReportDropped(List<long> annotationIds, string source, DatasetLog log)
    {
        if (annotationIds.Count == 0)
            return;
        foreach (var id in annotationIds.Take(NamedDropLimit))
            log.Warning($"{source}: annotation id {id} has no valid polygon (each needs an even number of coordinates, at least 6); dropped.");
        var more = annotationIds.Count > NamedDropLimit ? string.Create(CultureInfo.InvariantCulture, $" ({annotationIds.Count - NamedDropLimit} not named above)") : "";
        log.Warning($"Filtered out {annotationIds.Count} instances without valid segmentation{more}. There might be issues in your dataset generation process.");
    }
}
