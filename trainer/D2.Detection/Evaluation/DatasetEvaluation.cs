using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using D2.Detection.Data;
using D2.Detection.Distributed;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Evaluation;

/// <summary>
/// Detectron2's COCOEvaluator for one dataset, plus inference_on_dataset (<see cref="Run"/>). <see cref="Process"/> turns
/// each image's predictions into COCO results; <see cref="Evaluate"/> writes <c>coco_instances_results.json</c> (dataset
/// category ids), builds the ground truth (the dataset's own COCO json, or the records converted to
/// <c>&lt;name&gt;_coco_format.json</c>), evaluates bbox (and segm when the predictions have masks) on the processed
/// images only, and returns Detectron2's results dict: {"bbox": {"AP": .., "AP50": .., ..., "AP-&lt;class&gt;": ..}, "segm": {..}}
/// in percent, NaN where undefined.
/// </summary>
public sealed class DatasetEvaluation
{
    readonly List<DatasetRecord> _records = [];
    readonly List<CocoDetection> _detections = [];
    readonly Action<string> _log;

    /// <param name="outputDirectory">where the result files go; Detectron2's trainer uses OUTPUT_DIR/inference</param>
    /// <param name="log">receives Detectron2's log lines (default: standard output)</param>
    public DatasetEvaluation(DatasetMetadata metadata, string outputDirectory, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        Metadata = metadata;
        OutputDirectory = Path.GetFullPath(outputDirectory);
        _log = log ?? Console.WriteLine;
    }

    public DatasetMetadata Metadata { get; }

    public string OutputDirectory { get; }

    /// <summary><c>coco_instances_results.json</c> in the output directory.</summary>
    public string ResultsPath => Path.Combine(OutputDirectory, CocoResultsWriter.FileName);

    /// <summary>The images processed since the last <see cref="Reset"/>.</summary>
    public int ProcessedImages => _records.Count;

    public void Reset()
    {
        _records.Clear();
        _detections.Clear();
    }

    /// <summary>Records one image's predictions (COCOEvaluator.process).</summary>
    /// <param name="predictions">at the record's original size: pred_boxes, scores, pred_classes, optional pred_masks</param>
    public void Process(DatasetRecord record, Instances predictions)
    {
        ArgumentNullException.ThrowIfNull(record);
        _records.Add(record);
        _detections.AddRange(CocoResultsWriter.InstancesToCocoJson(predictions, record.ImageId));
    }

    /// <summary>COCOEvaluator.evaluate: results file, ground truth, COCO evaluation per task.</summary>
    /// <returns>task -> metric -> value in percent, in Detectron2's order; empty when nothing was processed</returns>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Evaluate()
    {
        var output = new OrderedDictionary<string, IReadOnlyDictionary<string, double>>();
        if (_records.Count == 0)
        {
            _log("[COCOEvaluator] Did not receive valid predictions.");
            return output;
        }
        var toDatasetId = CocoGroundTruthWriter.DatasetIds(Metadata);
        var classCount = Metadata.ThingClasses.Count;
        var results = _detections.Select(d => d.CategoryId >= 0 && d.CategoryId < classCount
            ? d with { CategoryId = toDatasetId((int)d.CategoryId) }
            : throw new InvalidOperationException($"A prediction has class {d.CategoryId} but dataset '{Metadata.Name}' has {classCount} classes.")).ToList();
        Directory.CreateDirectory(OutputDirectory);
        _log($"Saving results to {ResultsPath}");
        CocoResultsWriter.Write(ResultsPath, results);

        var groundTruth = LoadGroundTruth();
        var imageIds = _records.Select(r => r.ImageId).ToList();
        // As Detectron2's _tasks_from_predictions: bbox always, segm when the predictions carry masks.
        var tasks = results.Any(r => r.Segmentation is not null) ? new[] { CocoIouType.Bbox, CocoIouType.Segm } : [CocoIouType.Bbox];
        foreach (var task in tasks)
        {
            var name = task == CocoIouType.Segm ? "segm" : "bbox";
            if (results.Count == 0)
            {
                // pycocotools cannot load an empty results list; Detectron2 reports NaN instead.
                _log("No predictions from the model!");
                output[name] = CocoMetrics.SummaryNames.ToDictionary(n => n, _ => double.NaN);
                continue;
            }
            // For segm Detectron2 drops the boxes, so that areas (small/medium/large) come from the masks.
            var taskResults = new CocoResults(task == CocoIouType.Segm ? results.Select(r => r with { Bbox = null }) : results, groundTruth, ResultsPath);
            var evaluation = new CocoEvaluator(groundTruth, taskResults, new CocoEvalParams(task, imageIds, groundTruth.CategoryIds)).Run();
            var metrics = CocoMetrics.From(evaluation, groundTruth);
            _log($"Evaluate annotation type *{name}*");
            foreach (var line in metrics.SummaryLines)
                _log(line);
            _log(metrics.FormatTables().TrimEnd());
            var values = new OrderedDictionary<string, double>();
            foreach (var (metric, value) in metrics.Values)
                values[metric] = value;
            output[name] = values;
        }
        return output;
    }

    /// <summary>Runs <paramref name="model"/> over the dataset and evaluates it (Detectron2's inference_on_dataset with a
    /// COCOEvaluator).</summary>
    /// <inheritdoc cref="InferenceOnDataset"/>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Run(GeneralizedRCNN model,
        IEnumerable<(DatasetRecord Record, ModelInput Input)> data, DatasetMetadata metadata, string outputDirectory, Action<string>? log = null,
        DistributedInference? distributed = null) =>
        InferenceOnDataset(model, data, new DatasetEvaluation(metadata, outputDirectory, log), distributed);

    /// <summary>
    /// Detectron2's inference_on_dataset: the model in eval mode (its mode is restored after), one image per forward,
    /// each output given to <paramref name="evaluator"/>; logs the time per image, leaving out the first min(5, n - 1)
    /// images as warm-up.
    /// </summary>
    /// <param name="data">per image its record and the mapped model input (test-time resize done); an input without
    /// Height/Width gets the record's, so predictions come back at the original size. Tensors created while an item is
    /// produced (a lazy loader) are released once that item is evaluated.</param>
    /// <param name="distributed">data-parallel evaluation: <paramref name="data"/> is this rank's shard
    /// (<see cref="Data.Loader.InferenceSampler"/>); the predictions are gathered to rank 0, which alone evaluates; the
    /// other ranks return an empty result, as Detectron2's COCOEvaluator does off the main process</param>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> InferenceOnDataset(GeneralizedRCNN model,
        IEnumerable<(DatasetRecord Record, ModelInput Input)> data, DatasetEvaluation evaluator, DistributedInference? distributed = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(evaluator);
        var log = evaluator._log;
        var total = data.TryGetNonEnumeratedCount(out var count) ? count : (int?)null;
        log($"Start inference on {(total?.ToString(CultureInfo.InvariantCulture) ?? "?")} batches");
        evaluator.Reset();
        var synchronize = model.Device.type == DeviceType.CUDA;
        var dataReady = new List<long>();
        var computeSeconds = new List<double>();
        var evalSeconds = new List<double>();
        var dataSeconds = new List<double>();
        var lastProgress = Stopwatch.GetTimestamp();
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var items = data.GetEnumerator();
            while (true)
            {
                // Opened before MoveNext so that tensors a lazy loader creates for this item belong to it.
                using var scope = NewDisposeScope();
                var dataStart = Stopwatch.GetTimestamp();
                if (!items.MoveNext())
                    break;
                var (record, input) = items.Current;
                var computeStart = Stopwatch.GetTimestamp();
                var outputs = model.Inference([input with { Height = input.Height ?? record.Height, Width = input.Width ?? record.Width }]);
                if (synchronize)
                    cuda.synchronize();
                var evalStart = Stopwatch.GetTimestamp();
                evaluator.Process(record, outputs[0]);
                var end = Stopwatch.GetTimestamp();
                dataReady.Add(computeStart);
                dataSeconds.Add(Stopwatch.GetElapsedTime(dataStart, computeStart).TotalSeconds);
                computeSeconds.Add(Stopwatch.GetElapsedTime(computeStart, evalStart).TotalSeconds);
                evalSeconds.Add(Stopwatch.GetElapsedTime(evalStart, end).TotalSeconds);
                if (Stopwatch.GetElapsedTime(lastProgress).TotalSeconds >= 5)
                {
                    lastProgress = end;
                    log(ProgressLine(dataReady.Count, total, dataSeconds, computeSeconds, evalSeconds));
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        var loopEnd = Stopwatch.GetTimestamp();
        var n = dataReady.Count;
        if (n > 0)
        {
            var warmup = Math.Min(5, n - 1);
            var totalTime = Stopwatch.GetElapsedTime(dataReady[warmup], loopEnd).TotalSeconds;
            var computeTime = computeSeconds.Skip(warmup).Sum();
            log($"Total inference time: {Timedelta(totalTime)} ({totalTime / (n - warmup):F6} s / iter per device, on 1 devices)");
            log($"Total inference pure compute time: {Timedelta(Math.Floor(computeTime))} ({computeTime / (n - warmup):F6} s / iter per device, on 1 devices)");
        }
        if (distributed is { Group.WorldSize: > 1 } && !evaluator.GatherToMainProcess(distributed))
            return new Dictionary<string, IReadOnlyDictionary<string, double>>();
        return evaluator.Evaluate();
    }

    /// <summary>
    /// Detectron2's <c>comm.gather</c> of the evaluators' predictions: every rank sends the image ids it processed and its
    /// COCO results; rank 0 then holds all of them in rank order (the dataset's order) and returns true.
    /// </summary>
    public bool GatherToMainProcess(DistributedInference distributed)
    {
        ArgumentNullException.ThrowIfNull(distributed);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new EvaluationShard(
            _records.Select(r => r.ImageId).ToArray(),
            _detections.Select(d => new ShardDetection(d.ImageId, d.CategoryId, d.Score, d.Bbox, d.Segmentation?.ToString())).ToArray()));
        var shards = distributed.Group.AllGather(payload);
        if (distributed.Group.Rank != 0)
        {
            Reset();
            return false;
        }
        var byId = new Dictionary<long, DatasetRecord>();
        foreach (var record in distributed.AllRecords)
            byId.TryAdd(record.ImageId, record);
        Reset();
        foreach (var bytes in shards)
        {
            var shard = JsonSerializer.Deserialize<EvaluationShard>(bytes) ?? throw new InvalidDataException("An evaluation shard is empty.");
            foreach (var id in shard.ImageIds)
                _records.Add(byId.TryGetValue(id, out var record) ? record
                    : throw new InvalidDataException($"A rank evaluated image id {id}, which dataset '{Metadata.Name}' does not have."));
            _detections.AddRange(shard.Detections.Select(d => new CocoDetection(d.ImageId, d.CategoryId, d.Score, d.Bbox,
                d.Segmentation is null ? null : CocoSegmentation.FromJson(d.Segmentation))));
        }
        return true;
    }

    private sealed record EvaluationShard(long[] ImageIds, ShardDetection[] Detections);

    private sealed record ShardDetection(long ImageId, long CategoryId, double Score, double[]? Bbox, string? Segmentation);

    CocoDataset LoadGroundTruth()
    {
        if (Metadata.JsonFile is { } jsonFile && IsCocoJson(jsonFile))
        {
            _log($"Loading COCO ground truth from {jsonFile}");
            return CocoDataset.Load(jsonFile);
        }
        // Detectron2 reuses a cached conversion; it is rewritten here so that it never lags behind the records.
        var path = Path.Combine(OutputDirectory, CocoGroundTruthWriter.FileNameFor(Metadata.Name));
        _log($"Converting annotations of dataset '{Metadata.Name}' to COCO format: {path}");
        CocoGroundTruthWriter.Write(path, _records.DistinctBy(r => r.ImageId), Metadata);
        return CocoDataset.Load(path);
    }

    /// <summary>True when the file is a COCO json (a top-level object with "images" and "annotations"), not e.g. VIA's.</summary>
    static bool IsCocoJson(string path)
    {
        if (!File.Exists(path))
            return false;
        var reader = new Utf8JsonReader(File.ReadAllBytes(path), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return false;
            bool images = false, annotations = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                images |= reader.ValueTextEquals("images"u8);
                annotations |= reader.ValueTextEquals("annotations"u8);
                reader.Read();
                reader.Skip();
            }
            return images && annotations;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    static string ProgressLine(int done, int? total, List<double> data, List<double> compute, List<double> eval)
    {
        var warmup = Math.Min(5, done - 1);
        var iterations = done - warmup;
        double PerIteration(List<double> times) => times.Skip(warmup).Sum() / iterations;
        var perImage = PerIteration(data) + PerIteration(compute) + PerIteration(eval);
        var eta = total is { } t ? $" ETA={Timedelta(Math.Floor(perImage * (t - done)))}" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"Inference done {done}/{(total?.ToString(CultureInfo.InvariantCulture) ?? "?")}. Dataloading: {PerIteration(data):F4} s/iter. Inference: {PerIteration(compute):F4} s/iter. Eval: {PerIteration(eval):F4} s/iter. Total: {perImage:F4} s/iter.{eta}");
    }

    /// <summary>Python's str(datetime.timedelta(seconds=...)): H:MM:SS, with .ffffff when there are microseconds.</summary>
    internal static string Timedelta(double seconds)
    {
        var span = TimeSpan.FromTicks((long)Math.Round(seconds * 1e6) * 10);
        var days = span.Days > 0 ? $"{span.Days} day{(span.Days == 1 ? "" : "s")}, " : "";
        var micro = span.Ticks / 10 % 1_000_000;
        var text = string.Create(CultureInfo.InvariantCulture, $"{days}{span.Hours}:{span.Minutes:D2}:{span.Seconds:D2}");
        return micro == 0 ? text : text + "." + micro.ToString("D6", CultureInfo.InvariantCulture);
    }
}

/// <summary>A data-parallel evaluation: the group, and the whole dataset (rank 0 maps gathered image ids back to records).</summary>
public sealed record DistributedInference(IProcessGroup Group, IReadOnlyList<DatasetRecord> AllRecords);
