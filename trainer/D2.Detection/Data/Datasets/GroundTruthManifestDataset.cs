using System.Globalization;
using System.Text;
using System.Text.Json;
using D2.Detection.Evaluation;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// A SageMaker Ground Truth bounding-box output: an augmented manifest (JSON Lines), one image per line,
/// <c>{"source-ref": "s3://bucket/key.jpg", "&lt;label&gt;": {"annotations": [{"class_id", "left", "top", "width", "height"}],
/// "image_size": [{"width", "height", "depth"}]}, "&lt;label&gt;-metadata": {"class-map": {"0": "name"}, "type":
/// "groundtruth/object-detection", ...}}</c>, read as the aws-samples Detectron2-on-SageMaker project reads it: boxes in
/// XYWH pixels (Detectron2's BoxMode.XYWH_ABS), the class id as the category, the image found by its S3 key's file name
/// in a local folder. Boxes only: the records carry no masks.
/// </summary>
public static class GroundTruthManifestDataset
{
    /// <summary>The <c>type</c> Ground Truth writes in the metadata of bounding-box labels.</summary>
    public const string ObjectDetectionType = "groundtruth/object-detection";

    const string SourceRef = "source-ref";
    const string MetadataSuffix = "-metadata";
    const int SniffBytes = 1 << 20;

    /// <summary>True when the file's first non-blank line is a JSON object with a <c>source-ref</c> (an augmented manifest).</summary>
    public static bool LooksLikeManifest(string path) => FirstLine(path) is { } line && ParseObject(line) is { } root
        && root.TryGetProperty(SourceRef, out _);

    /// <summary>The <c>source-ref</c> of the first <paramref name="count"/> lines that have one, to choose the folder the images are in.</summary>
    public static IReadOnlyList<string> FirstSourceRefs(string path, int count)
    {
        var found = new List<string>();
        if (!File.Exists(path))
            return found;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            if (found.Count >= count)
                break;
            if (line.Contains($"\"{SourceRef}\"", StringComparison.Ordinal) && ParseObject(line) is { } root
                && root.TryGetProperty(SourceRef, out var value) && value.ValueKind == JsonValueKind.String)
                found.Add(value.GetString()!);
        }
        return found;
    }

    /// <summary>Loads the manifest.</summary>
    /// <param name="manifest">the augmented manifest (JSON Lines)</param>
    /// <param name="imageRoot">folder the images are looked up in (see <see cref="ManifestImages.Resolve"/>); the manifest's folder when null</param>
    /// <param name="labelAttribute">the label attribute (Ground Truth's LabelAttributeName); when null, the one attribute
    /// whose value has <c>annotations</c></param>
    /// <param name="datasetName">metadata name; the manifest path when null</param>
    /// <param name="log">where warnings go (standard error when null)</param>
    /// <returns>records with image ids = line numbers (1-based), and metadata whose classes are the class-map's names in
    /// class-id order, mapped to contiguous ids (class ids are written back when evaluating)</returns>
    /// <exception cref="DatasetException">a malformed line, an unknown or ambiguous label attribute, a class id missing
    /// from the class-map, a missing image; the message names the line.</exception>
    public static (List<DatasetRecord> Records, DatasetMetadata Metadata) Load(string manifest, string? imageRoot = null, string? labelAttribute = null,
        string? datasetName = null, TextWriter? log = null)
    {
        var path = Path.GetFullPath(manifest);
        if (!File.Exists(path))
            throw new DatasetException(path, Directory.Exists(path) ? "is a directory, not a manifest file" : "file not found");
        var folder = Path.GetFullPath(imageRoot ?? Path.GetDirectoryName(path)!);
        var lines = ReadLines(path);
        if (lines.Count == 0)
            throw new DatasetException(path, "is empty: an augmented manifest has one JSON object per line");
        var label = labelAttribute ?? DetectLabel(path, lines);
        var reader = new ManifestReader(path, label, folder, new DatasetLog(log));
        var images = new List<ManifestImage>();
        foreach (var (number, root) in lines)
            if (reader.Read(number, root) is { } image)
                images.Add(image);
        return reader.Finish(images, datasetName ?? path);
    }

    /// <summary>Every non-blank line as a JSON object, with its 1-based number.</summary>
    static List<(int Number, JsonElement Root)> ReadLines(string path)
    {
        var lines = new List<(int, JsonElement)>();
        var number = 0;
        foreach (var text in File.ReadLines(path, Encoding.UTF8))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(text);
                root = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                var reason = e.Message;
                var cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
                throw new DatasetException(path, $"line {number}: is not valid JSON (position {(e.BytePositionInLine ?? 0) + 1}): {(cut > 0 ? reason[..cut] : reason)} "
                    + "(an augmented manifest has one JSON object per line)", e);
            }
            if (root.ValueKind != JsonValueKind.Object)
                throw new DatasetException(path, $"line {number}: must be a JSON object, found {CocoJson.Describe(root)}");
            lines.Add((number, root));
        }
        return lines;
    }

    /// <summary>The one attribute, over all lines, whose value is an object with an <c>annotations</c> list.</summary>
    static string DetectLabel(string path, List<(int Number, JsonElement Root)> lines)
    {
        var found = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (number, root) in lines)
            foreach (var property in root.EnumerateObject())
                if (property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("annotations", out var annotations)
                    && annotations.ValueKind == JsonValueKind.Array)
                    found.TryAdd(property.Name, number);
        return found.Count switch
        {
            1 => found.Keys.First(),
            0 => throw new DatasetException(path, "has no bounding-box label attribute: no line has an attribute whose value holds \"annotations\" "
                + $"(Ground Truth's object-detection output, {{\"<label>\": {{\"annotations\": [...], \"image_size\": [...]}}}})"),
            _ => throw new DatasetException(path, $"has {found.Count} bounding-box label attributes "
                + $"({string.Join(", ", found.Select(f => $"'{f.Key}' from line {f.Value}"))}): name the one to train on "
                + "(the label-attribute-name hyperparameter, Ground Truth's LabelAttributeName)"),
        };
    }

    static string? FirstLine(string path)
    {
        if (!File.Exists(path))
            return null;
        using var stream = File.OpenRead(path);
        var buffer = new byte[(int)Math.Min(SniffBytes, stream.Length)];
        stream.ReadExactly(buffer);
        var text = Encoding.UTF8.GetString(buffer);
        foreach (var line in text.Split('\n'))
        {
            if (!string.IsNullOrWhiteSpace(line))
                return line.Contains($"\"{SourceRef}\"", StringComparison.Ordinal) ? line : null;
        }
        return null;
    }

    static JsonElement? ParseObject(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    sealed record ManifestImage(int Line, string SourceRef, string FileName, int Height, int Width, List<(int ClassId, double[] Box)> Boxes);

    /// <summary>Reads lines one by one, collecting the class-map and the missing images for one error at the end.</summary>
    sealed class ManifestReader(string path, string label, string folder, DatasetLog log)
    {
        readonly SortedDictionary<int, (string Name, int Line)> _classes = [];
        readonly List<(int Line, string SourceRef)> _missing = [];
        readonly Dictionary<string, int> _lineOfFile = new(StringComparer.Ordinal);
        int _skipped;

        DatasetException Error(int line, string problem) => new(path, $"line {line}: {problem}");

        public ManifestImage? Read(int line, JsonElement root)
        {
            if (!root.TryGetProperty(SourceRef, out var sourceElement))
                throw Error(line, $"has no \"{SourceRef}\" (each line of an image manifest names its image as \"{SourceRef}\": \"s3://bucket/key.jpg\")");
            if (sourceElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(sourceElement.GetString()))
                throw Error(line, $"\"{SourceRef}\" must be a non-empty string, found {CocoJson.Describe(sourceElement)}");
            var sourceRef = sourceElement.GetString()!;
            var metadata = root.TryGetProperty(label + MetadataSuffix, out var m) ? m : (JsonElement?)null;
            if (metadata is { } meta && meta.ValueKind != JsonValueKind.Object)
                throw Error(line, $"\"{label}{MetadataSuffix}\" must be an object, found {CocoJson.Describe(meta)}");
            if (!root.TryGetProperty(label, out var value))
            {
                // Ground Truth keeps the objects it could not label, with the reason in the metadata.
                if (metadata is { } failed && failed.TryGetProperty("failure-reason", out var reason))
                {
                    log.Warning($"{path}: line {line} ({sourceRef}) has no label ({Text(reason)}); skipped.");
                    _skipped++;
                    return null;
                }
                throw Error(line, $"has no \"{label}\" label attribute (attributes: {string.Join(", ", root.EnumerateObject().Select(p => p.Name))})");
            }
            if (value.ValueKind != JsonValueKind.Object)
                throw Error(line, $"\"{label}\" must be an object with \"annotations\" and \"image_size\", found {CocoJson.Describe(value)}");
            if (metadata is { } typed && typed.TryGetProperty("type", out var type) && Text(type) != ObjectDetectionType)
                log.Warning($"{path}: line {line}: \"{label}{MetadataSuffix}\".type is '{Text(type)}', not '{ObjectDetectionType}'; reading its annotations as boxes.");
            if (metadata is { } mapped && mapped.TryGetProperty("class-map", out var classMap))
                ReadClassMap(line, classMap);

            if (!value.TryGetProperty("annotations", out var annotations) || annotations.ValueKind != JsonValueKind.Array)
                throw Error(line, $"\"{label}\".annotations must be a list of boxes, found {(annotations.ValueKind == JsonValueKind.Undefined ? "nothing" : CocoJson.Describe(annotations))}");
            var boxes = new List<(int, double[])>();
            var index = 0;
            foreach (var annotation in annotations.EnumerateArray())
                boxes.Add(ReadBox(line, $"\"{label}\".annotations[{index++}]", annotation));

            var fileName = ManifestImages.Resolve(folder, sourceRef);
            if (fileName is null)
            {
                _missing.Add((line, sourceRef));
                return null;
            }
            if (!_lineOfFile.TryAdd(fileName, line))
                throw Error(line, $"{sourceRef} is the image of line {_lineOfFile[fileName]} too ({fileName}); each image may appear once");
            var (height, width) = ImageSize(line, value, fileName);
            return new ManifestImage(line, sourceRef, fileName, height, width, boxes);
        }

        public (List<DatasetRecord>, DatasetMetadata) Finish(List<ManifestImage> images, string name)
        {
            if (_missing.Count > 0)
                throw new DatasetException(path, $"{_missing.Count} image(s) not found under {folder} (looked up by the S3 key's trailing path, "
                    + $"then its file name): {string.Join("; ", _missing.Take(5).Select(m => $"line {m.Line} ({m.SourceRef})"))}{(_missing.Count > 5 ? "; ..." : "")}");
            if (_classes.Count == 0)
                throw new DatasetException(path, $"has no class-map: no line's \"{label}{MetadataSuffix}\" has \"class-map\": {{\"0\": \"<name>\", ...}}, "
                    + "which Ground Truth writes and which names the classes");
            foreach (var image in images)
                foreach (var (classId, _) in image.Boxes.Where(b => !_classes.ContainsKey(b.ClassId)))
                    throw Error(image.Line, $"class_id {classId} is not in the class-map ({string.Join(", ", _classes.Select(c => $"{c.Key}: {c.Value.Name}"))})");

            // Class ids in id order become contiguous ids; the map gives the manifest's ids back to the evaluation.
            var contiguous = _classes.Keys.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
            var records = images.Select(image => new DatasetRecord(image.FileName, image.Height, image.Width, image.Line,
                [.. image.Boxes.Select(b => new DatasetAnnotation(b.Box, contiguous[b.ClassId]))])).ToList();
            if (_skipped > 0)
                log.Info($"{path}: {_skipped} line(s) without a label skipped.");
            log.Info($"Loaded {records.Count} images with {records.Sum(r => r.Annotations.Count)} boxes in Ground Truth manifest {path} (label '{label}').");
            var metadata = new DatasetMetadata(name, [.. _classes.Values.Select(c => c.Name)], contiguous, path, folder);
            return (records, metadata);
        }

        void ReadClassMap(int line, JsonElement classMap)
        {
            if (classMap.ValueKind != JsonValueKind.Object)
                throw Error(line, $"\"{label}{MetadataSuffix}\".class-map must be an object {{\"<class_id>\": \"<name>\"}}, found {CocoJson.Describe(classMap)}");
            foreach (var entry in classMap.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                    throw Error(line, $"class-map key '{entry.Name}' is not a class id (a non-negative integer)");
                if (entry.Value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(entry.Value.GetString()))
                    throw Error(line, $"class-map[\"{entry.Name}\"] must be a class name, found {CocoJson.Describe(entry.Value)}");
                var className = entry.Value.GetString()!;
                if (_classes.TryGetValue(id, out var known) && known.Name != className)
                    throw Error(line, $"class-map names class {id} '{className}', but line {known.Line} names it '{known.Name}'");
                _classes.TryAdd(id, (className, line));
            }
        }

        (int, double[]) ReadBox(int line, string where, JsonElement annotation)
        {
            if (annotation.ValueKind != JsonValueKind.Object)
                throw Error(line, $"{where} must be an object with class_id, left, top, width, height, found {CocoJson.Describe(annotation)}");
            double Number(string member)
            {
                if (!annotation.TryGetProperty(member, out var element))
                    throw Error(line, $"{where} has no \"{member}\"");
                if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var number) || !double.IsFinite(number))
                    throw Error(line, $"{where}.{member} must be a number, found {CocoJson.Describe(element)}");
                return number;
            }
            var classId = Number("class_id");
            if (classId != Math.Floor(classId) || classId < 0 || classId > int.MaxValue)
                throw Error(line, $"{where}.class_id must be a non-negative integer, found {classId.ToString(CultureInfo.InvariantCulture)}");
            double left = Number("left"), top = Number("top"), width = Number("width"), height = Number("height");
            if (width < 0 || height < 0)
                throw Error(line, $"{where} has a negative size ({width.ToString(CultureInfo.InvariantCulture)} x {height.ToString(CultureInfo.InvariantCulture)})");
            return ((int)classId, [left, top, left + width, top + height]);
        }

        /// <summary>Ground Truth's <c>image_size</c>, else the image's header.</summary>
        (int Height, int Width) ImageSize(int line, JsonElement value, string fileName)
        {
            if (!value.TryGetProperty("image_size", out var sizes))
                return ImageHeader.ReadSize(fileName, $"{path} line {line}");
            if (sizes.ValueKind != JsonValueKind.Array || sizes.GetArrayLength() == 0 || sizes[0].ValueKind != JsonValueKind.Object)
                throw Error(line, $"\"{label}\".image_size must be a list like [{{\"width\": 640, \"height\": 480, \"depth\": 3}}], found {CocoJson.Describe(sizes)}");
            int Dimension(string member) =>
                sizes[0].TryGetProperty(member, out var element) && element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var size) && size > 0
                    ? size
                    : throw Error(line, $"\"{label}\".image_size[0].{member} must be a positive integer");
            return (Dimension("height"), Dimension("width"));
        }

        static string Text(JsonElement element) => element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText();
    }
}
