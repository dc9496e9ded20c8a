using System.Text.Json;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// Detectron2's DatasetCatalog and builtin registrations: dataset names (<c>DATASETS.TRAIN</c>, <c>DATASETS.TEST</c>)
/// resolved to records and metadata. The builtin names point into a datasets root laid out as Detectron2 expects
/// (<c>coco/annotations/instances_val2017.json</c>, <c>coco/val2017/</c>, <c>balloon/train/via_region_data.json</c>);
/// other names are added with <see cref="Register"/>. Records are loaded afresh by every <see cref="Get"/>, as
/// Detectron2 calls the registered function each time.
/// </summary>
public sealed class DatasetCatalog
{
    /// <summary>The environment variable naming the datasets root: our counterpart of Detectron2's DETECTRON2_DATASETS.</summary>
    public const string DatasetsRootVariable = "D2_DATASETS";

    /// <summary>Detectron2's own variable, honoured after <see cref="DatasetsRootVariable"/> so a Detectron2 user's environment works.</summary>
    public const string Detectron2DatasetsRootVariable = "DETECTRON2_DATASETS";

    enum Format { Coco, Via, Detect }

    sealed record Entry(string Name, string JsonFile, string ImageRoot, Format Format, string ClassName, string? LabelAttribute = null);

    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    readonly TextWriter? _log;

    /// <param name="datasetsRoot">where builtin names resolve; when null, <see cref="ResolveDatasetsRoot"/> decides</param>
    /// <param name="log">where loaders report warnings (standard error when null)</param>
    public DatasetCatalog(string? datasetsRoot = null, TextWriter? log = null)
    {
        DatasetsRoot = ResolveDatasetsRoot(datasetsRoot);
        _log = log;
        // Detectron2's builtin.py: _PREDEFINED_SPLITS_COCO["coco"] for 2017, and the balloon tutorial's two splits.
        foreach (var split in new[] { "train", "val" })
        {
            Add(new Entry($"coco_2017_{split}", Path.Combine(DatasetsRoot, "coco", "annotations", $"instances_{split}2017.json"),
                Path.Combine(DatasetsRoot, "coco", $"{split}2017"), Format.Coco, ""));
            var balloon = Path.Combine(DatasetsRoot, "balloon", split);
            Add(new Entry($"balloon_{split}", Path.Combine(balloon, "via_region_data.json"), balloon, Format.Via, "balloon"));
        }
    }

    /// <summary>The absolute folder builtin dataset names resolve under.</summary>
    public string DatasetsRoot { get; }

    /// <summary>Registered names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _entries.Keys.Order(StringComparer.Ordinal)];

    /// <summary>
    /// The datasets root: <paramref name="explicitRoot"/> if given, else the <c>D2_DATASETS</c> environment variable, else
    /// Detectron2's <c>DETECTRON2_DATASETS</c>, else <c>./datasets</c> (Detectron2's <c>os.getenv("DETECTRON2_DATASETS", "datasets")</c>).
    /// </summary>
    public static string ResolveDatasetsRoot(string? explicitRoot = null)
    {
        var root = !string.IsNullOrWhiteSpace(explicitRoot) ? explicitRoot
            : Environment.GetEnvironmentVariable(DatasetsRootVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
            : Environment.GetEnvironmentVariable(Detectron2DatasetsRootVariable) is { Length: > 0 } fromDetectron2 ? fromDetectron2
            : "datasets";
        return Path.GetFullPath(root);
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>Whether <paramref name="name"/> is registered and its annotation file exists (a builtin name under this root).</summary>
    public bool IsAvailable(string name) => _entries.TryGetValue(name, out var entry) && File.Exists(entry.JsonFile);

    /// <summary>
    /// Registers a dataset under a new name (Detectron2's <c>register_coco_instances</c>, or the tutorial's
    /// <c>DatasetCatalog.register</c> for VIA). The file's format, COCO json, VIA json or a Ground Truth augmented
    /// manifest (<see cref="GroundTruthManifestDataset"/>), is detected when the dataset is loaded.
    /// </summary>
    /// <param name="jsonFile">COCO or VIA json or augmented manifest; a relative path is relative to the current directory, as in Detectron2</param>
    /// <param name="imageRoot">folder the json's file names are relative to (for a manifest, the folder its images were copied to)</param>
    /// <param name="className">the single class of a VIA dataset (VIA files carry no class names); unused for COCO</param>
    /// <param name="labelAttribute">a manifest's label attribute; null: the only bounding-box attribute in it</param>
    /// <exception cref="DatasetException">the name is already registered.</exception>
    public void Register(string name, string jsonFile, string imageRoot, string className = "balloon", string? labelAttribute = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(jsonFile);
        ArgumentException.ThrowIfNullOrWhiteSpace(imageRoot);
        Add(new Entry(name, Path.GetFullPath(jsonFile), Path.GetFullPath(imageRoot), Format.Detect, className, labelAttribute));
    }

    /// <summary>Loads the named dataset.</summary>
    /// <exception cref="DatasetException">the name is not registered (the message lists those that are), or the
    /// dataset's files are missing or malformed.</exception>
    public (List<DatasetRecord> Records, DatasetMetadata Metadata) Get(string name)
    {
        if (!_entries.TryGetValue(name, out var entry))
            throw new DatasetException(name, $"dataset '{name}' is not registered! Available datasets are: {string.Join(", ", Names)}");
        if (!File.Exists(entry.JsonFile))
            throw new DatasetException(entry.JsonFile, $"file not found: dataset '{name}' reads its annotations from there (datasets root {DatasetsRoot}; "
                + $"pass another root or set {DatasetsRootVariable})");
        // JSON Lines, not one JSON document: told apart before parsing.
        if (entry.Format == Format.Detect && GroundTruthManifestDataset.LooksLikeManifest(entry.JsonFile))
            return GroundTruthManifestDataset.Load(entry.JsonFile, entry.ImageRoot, entry.LabelAttribute, name, _log);
        // COCO files (the large ones) stream; a file the streaming pass does not take (VIA, or one with a problem to
        // report) goes through the document, as before.
        if (entry.Format != Format.Via && CocoJsonDataset.TryLoadStreaming(entry.JsonFile, entry.ImageRoot, name, _log) is { } coco)
            return coco;
        using var document = DatasetJsonFile.Parse(entry.JsonFile);
        var root = document.RootElement;
        var format = entry.Format == Format.Detect ? Detect(root, entry.JsonFile) : entry.Format;
        return format == Format.Coco
            ? CocoJsonDataset.Load(root, entry.JsonFile, entry.ImageRoot, name, _log)
            : ViaJsonDataset.Load(root, entry.JsonFile, entry.ImageRoot, entry.ClassName, name, _log);
    }

    static Format Detect(JsonElement root, string jsonFile)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("images", out _))
            return Format.Coco;
        if (ViaJsonDataset.LooksLikeVia(root))
            return Format.Via;
        throw new DatasetException(jsonFile, "is neither COCO json (an object with \"images\", \"annotations\", \"categories\") "
            + "nor VIA json (an object of entries with \"filename\" and \"regions\") nor a Ground Truth manifest (JSON Lines with \"source-ref\")");
    }

    void Add(Entry entry)
    {
        if (!_entries.TryAdd(entry.Name, entry))
            throw new DatasetException(entry.Name, $"dataset '{entry.Name}' is already registered");
    }
}
