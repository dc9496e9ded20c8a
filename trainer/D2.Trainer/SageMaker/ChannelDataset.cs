using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using D2.Detection.Data.Datasets;

namespace D2.Trainer.SageMaker;

/// <summary>
/// Finds the dataset in an input channel: the COCO or VIA json or Ground Truth augmented manifest (named by a
/// hyperparameter, the only one found, or the COCO one of a COCO + VIA pair describing the same images) and the folder
/// its image file names are relative to.
/// </summary>
internal static partial class ChannelDataset
{
    // Enough of a file's start to tell COCO ("images") from VIA ("filename" + "regions") and to see a first file name.
    private const int SniffBytes = 1 << 20;

    private static readonly string[] AnnotationExtensions = ["*.json", "*.manifest", "*.jsonl"];

    /// <summary>The channel a manifest's images may come in, as in the aws-samples Detectron2 project.</summary>
    public const string ImagesChannel = "images";

    /// <param name="channel">the channel's name, for messages</param>
    /// <param name="directory">the channel's folder</param>
    /// <param name="annotations">the json's path relative to the channel, or null to search</param>
    /// <param name="hyperparameter">the hyperparameter that names the json, for messages</param>
    /// <exception cref="JobInputException">no json, several, or the named one is missing</exception>
    /// <param name="log">where the choice between a COCO and a VIA json of the same images is reported</param>
    public static (string JsonFile, string ImageRoot) Locate(string channel, string directory, string? annotations, string hyperparameter, TextWriter? log = null)
    {
        string json;
        if (annotations is not null)
        {
            json = Path.GetFullPath(Path.Combine(directory, annotations));
            if (!File.Exists(json))
                throw new JobInputException($"channel '{channel}': {hyperparameter} names '{annotations}', which is not in {directory}.");
        }
        else
        {
            // Ground Truth writes output.manifest; JSON Lines files are often .jsonl.
            var jsonFiles = AnnotationExtensions.SelectMany(pattern => Directory.EnumerateFiles(directory, pattern, SearchOption.AllDirectories))
                .Order(StringComparer.Ordinal).ToList();
            var candidates = jsonFiles.Where(file => Kind(file) is not null).ToList();
            json = candidates.Count switch
            {
                1 => candidates[0],
                // A lone json that does not look like annotations is still the one meant: loading it says what is wrong.
                0 when jsonFiles.Count == 1 => jsonFiles[0],
                2 when SameImagesTwice(directory, candidates) is { } coco => Chosen(coco, candidates),
                0 => throw new JobInputException(jsonFiles.Count == 0
                    ? $"channel '{channel}' ({directory}) holds no annotation file (COCO or VIA json, or a Ground Truth .manifest)."
                    : $"channel '{channel}' holds no COCO or VIA json or Ground Truth manifest among its {jsonFiles.Count} json/manifest files: name one with the hyperparameter {hyperparameter}."),
                _ => throw new JobInputException($"channel '{channel}' holds {candidates.Count} annotation files "
                    + $"({string.Join(", ", candidates.Take(5).Select(c => Path.GetRelativePath(directory, c)))}{(candidates.Count > 5 ? ", ..." : "")}): "
                    + $"name one with the hyperparameter {hyperparameter}."),
            };
        }
        return (json, ImageRoot(directory, json));

        string Chosen(string coco, List<string> pair)
        {
            var other = pair.Single(c => c != coco);
            log?.WriteLine($"channel '{channel}': {Path.GetRelativePath(directory, coco)} (COCO) and {Path.GetRelativePath(directory, other)} (VIA) "
                + $"describe the same images; using the COCO file, which names the classes (set {hyperparameter} to choose).");
            return coco;
        }
    }

    /// <summary>
    /// The COCO json of a COCO + VIA pair that lists exactly the same image files (as <c>d2 synth-balloons</c> writes each
    /// split); null for anything else, which stays ambiguous.
    /// </summary>
    private static string? SameImagesTwice(string directory, List<string> candidates)
    {
        var coco = candidates.FirstOrDefault(c => Kind(c) == "coco");
        var via = candidates.FirstOrDefault(c => Kind(c) == "via");
        if (coco is null || via is null)
            return null;
        try
        {
            var cocoRoot = ImageRoot(directory, coco);
            HashSet<string> cocoImages, viaImages;
            using (var document = JsonDocument.Parse(File.ReadAllBytes(coco)))
                cocoImages = [.. document.RootElement.GetProperty("images").EnumerateArray()
                    .Select(image => Path.GetFullPath(Path.Combine(cocoRoot, image.GetProperty("file_name").GetString()!)))];
            var viaRoot = Path.GetDirectoryName(via)!;
            using (var document = JsonDocument.Parse(File.ReadAllBytes(via)))
                viaImages = [.. document.RootElement.EnumerateObject()
                    .Select(entry => Path.GetFullPath(Path.Combine(viaRoot, entry.Value.GetProperty("filename").GetString()!)))];
            return cocoImages.Count > 0 && cocoImages.SetEquals(viaImages) ? coco : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            // Not a well-formed pair: the ambiguity error asks the user to name one.
            return null;
        }
    }

    /// <summary>"manifest", "coco", "via" or null (not an annotation file), from the start of the file.</summary>
    private static string? Kind(string file) => GroundTruthManifestDataset.LooksLikeManifest(file) ? "manifest" : Sniff(ReadHead(file));

    private static string? Sniff(string head)
    {
        if (head.Contains("\"images\"", StringComparison.Ordinal))
            return "coco";
        return head.Contains("\"filename\"", StringComparison.Ordinal) && head.Contains("\"regions\"", StringComparison.Ordinal) ? "via" : null;
    }

    /// <summary>
    /// VIA names images relative to the json's folder. COCO file names are relative to a separate image folder: the
    /// first candidate (json folder, channel, an images/ folder beside or under either) that holds the first image.
    /// </summary>
    private static string ImageRoot(string channelDirectory, string json)
    {
        var jsonDirectory = Path.GetDirectoryName(json)!;
        if (Kind(json) == "manifest")
            return ManifestImageRoot(channelDirectory, jsonDirectory, json);
        var head = ReadHead(json);
        if (Sniff(head) != "coco" || FileNamePattern().Match(head) is not { Success: true } match)
            return jsonDirectory;
        var fileName = Regex.Unescape(match.Groups[1].Value);
        string[] candidates =
        [
            jsonDirectory, channelDirectory, Path.Combine(jsonDirectory, "images"), Path.Combine(channelDirectory, "images"),
            Path.Combine(Path.GetDirectoryName(jsonDirectory) ?? jsonDirectory, "images"),
        ];
        return candidates.FirstOrDefault(root => File.Exists(Path.Combine(root, fileName))) ?? jsonDirectory;
    }

    /// <summary>
    /// A manifest's images are S3 objects: the channel itself when they were copied with it, else an <c>images</c> channel
    /// beside it (the aws-samples project's layout: a manifest channel and an images channel), else an images/ folder; the
    /// first of these that holds any of the first lines' images (by the key's trailing path, <see cref="ManifestImages"/>).
    /// "Any", not "the first": when that one image is missing, a later folder with a file of the same name must not win.
    /// </summary>
    private static string ManifestImageRoot(string channelDirectory, string manifestDirectory, string manifest)
    {
        string[] candidates =
        [
            manifestDirectory, channelDirectory, Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(channelDirectory))!, ImagesChannel),
            Path.Combine(manifestDirectory, "images"), Path.Combine(channelDirectory, "images"),
        ];
        var sample = GroundTruthManifestDataset.FirstSourceRefs(manifest, 100);
        return candidates.FirstOrDefault(root => Directory.Exists(root) && sample.Any(sourceRef => ManifestImages.Resolve(root, sourceRef) is not null))
            ?? channelDirectory;
    }

    private static string ReadHead(string file)
    {
        using var stream = File.OpenRead(file);
        var buffer = new byte[(int)Math.Min(SniffBytes, stream.Length)];
        stream.ReadExactly(buffer);
        return Encoding.UTF8.GetString(buffer);
    }

    [GeneratedRegex("\"file_name\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex FileNamePattern();
}
