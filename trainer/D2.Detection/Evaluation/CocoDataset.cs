using System.Text.Json;

namespace D2.Detection.Evaluation;

/// <summary>A COCO ground-truth file (<c>instances_val2017.json</c> or Detectron2's <c>*_coco_format.json</c>):
/// images, categories and annotations, indexed the way pycocotools' COCO class indexes them.</summary>
public sealed class CocoDataset
{
    readonly Dictionary<long, CocoImage> _imagesById = [];

    /// <param name="source">the file name, or a label for in-memory data; every error message starts with it.</param>
    /// <exception cref="CocoFormatException">an annotation refers to an image that is not listed.</exception>
    public CocoDataset(IEnumerable<CocoImage> images, IEnumerable<CocoCategory> categories, IEnumerable<CocoAnnotation> annotations, string source = "ground truth")
    {
        Source = source;
        Images = [.. images];
        Categories = [.. categories];
        Annotations = [.. annotations];
        // Later duplicates win, as in pycocotools' dictionary index.
        foreach (var image in Images)
            _imagesById[image.Id] = image;
        for (var i = 0; i < Annotations.Count; i++)
        {
            var annotation = Annotations[i];
            if (!_imagesById.ContainsKey(annotation.ImageId))
                throw new CocoFormatException(source, $"annotations[{i}] (id {annotation.Id}) refers to image id {annotation.ImageId}, which is not in \"images\"");
        }
        ImageIds = [.. _imagesById.Keys.Order()];
        CategoryIds = [.. Categories.Select(c => c.Id).Distinct().Order()];
    }

    public string Source { get; }

    public IReadOnlyList<CocoImage> Images { get; }

    public IReadOnlyList<CocoCategory> Categories { get; }

    public IReadOnlyList<CocoAnnotation> Annotations { get; }

    /// <summary>Distinct image ids in ascending order: pycocotools' <c>sorted(getImgIds())</c>.
    /// Images without annotations are included.</summary>
    public IReadOnlyList<long> ImageIds { get; }

    /// <summary>Distinct category ids in ascending order: pycocotools' <c>sorted(getCatIds())</c>.</summary>
    public IReadOnlyList<long> CategoryIds { get; }

    public bool ContainsImage(long id) => _imagesById.ContainsKey(id);

    public CocoImage Image(long id) => _imagesById[id];

    /// <summary>The name of each category id; the last entry wins for a repeated id.</summary>
    public IReadOnlyDictionary<long, string> CategoryNames()
    {
        var names = new Dictionary<long, string>();
        foreach (var category in Categories)
            names[category.Id] = category.Name;
        return names;
    }

    /// <exception cref="CocoFormatException">missing file, invalid JSON, or a missing or malformed field.</exception>
    public static CocoDataset Load(string path)
    {
        using var document = CocoJson.ParseFile(path);
        return Read(document.RootElement, new CocoJson(path));
    }

    /// <param name="source">a label for error messages.</param>
    public static CocoDataset Parse(string json, string source = "ground truth")
    {
        using var document = CocoJson.Parse(System.Text.Encoding.UTF8.GetBytes(json), source);
        return Read(document.RootElement, new CocoJson(source));
    }

    static CocoDataset Read(JsonElement root, CocoJson json)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw json.Error($"must be a COCO JSON object with \"images\", \"annotations\" and \"categories\", found {CocoJson.Describe(root)}");
        var images = new List<CocoImage>();
        var i = 0;
        foreach (var item in json.Array(json.Required(root, "images", "the top-level object"), "images"))
        {
            var where = $"images[{i++}]";
            var height = CocoJson.Optional(item, "height");
            var width = CocoJson.Optional(item, "width");
            var fileName = CocoJson.Optional(item, "file_name");
            images.Add(new CocoImage(
                json.Id(json.Required(item, "id", where), $"{where}.id"),
                height is { } h ? json.Int(h, $"{where}.height") : null,
                width is { } w ? json.Int(w, $"{where}.width") : null,
                fileName is { ValueKind: JsonValueKind.String } f ? f.GetString() : null));
        }

        var categories = new List<CocoCategory>();
        i = 0;
        if (CocoJson.Optional(root, "categories") is { } categoryArray)
        {
            foreach (var item in json.Array(categoryArray, "categories"))
            {
                var where = $"categories[{i++}]";
                var id = json.Id(json.Required(item, "id", where), $"{where}.id");
                var name = CocoJson.Optional(item, "name") is { ValueKind: JsonValueKind.String } n ? n.GetString()! : id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                categories.Add(new CocoCategory(id, name));
            }
        }

        var annotations = new List<CocoAnnotation>();
        i = 0;
        if (CocoJson.Optional(root, "annotations") is { } annotationArray)
        {
            foreach (var item in json.Array(annotationArray, "annotations"))
            {
                var where = $"annotations[{i++}]";
                var bbox = CocoJson.Optional(item, "bbox");
                var crowd = CocoJson.Optional(item, "iscrowd");
                var segmentation = CocoJson.Optional(item, "segmentation");
                annotations.Add(new CocoAnnotation(
                    json.Id(json.Required(item, "id", where), $"{where}.id"),
                    json.Id(json.Required(item, "image_id", where), $"{where}.image_id"),
                    json.Id(json.Required(item, "category_id", where), $"{where}.category_id"),
                    json.Number(json.Required(item, "area", where), $"{where}.area"),
                    crowd is { } c && json.Flag(c, $"{where}.iscrowd"),
                    bbox is { } b ? json.Box(b, $"{where}.bbox") : null,
                    segmentation is { } s ? CocoSegmentation.Read(s, json, $"{where}.segmentation") : null));
            }
        }
        return new CocoDataset(images, categories, annotations, json.Source);
    }
}
