using System.Collections;
using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>A checkpoint's model weights as read from a file, with what Detectron2 decides from the file's content.</summary>
/// <param name="Model">checkpoint key -> CPU tensor</param>
/// <param name="Author">the pickle's <c>__author__</c> ("Caffe2" for Caffe2/Detectron1 files), null when none</param>
/// <param name="MatchingHeuristics">whether names go through <see cref="StateDictAligner"/> before loading</param>
internal sealed record CheckpointData(List<KeyValuePair<string, Tensor>> Model, string? Author, bool MatchingHeuristics, List<string> Notes);

/// <summary>
/// Detectron2's <c>DetectionCheckpointer._load_file</c>, by file extension:
/// <list type="bullet">
/// <item><c>.pkl</c> with <c>model</c> and <c>__author__</c>: the Detectron2 model zoo, loaded by exact name (unless the file
/// sets <c>matching_heuristics</c>).</item>
/// <item>any other <c>.pkl</c>: Caffe2 / Detectron1 (ImageNet <c>R-50.pkl</c>; Detectron1 files keep blobs under <c>blobs</c>),
/// <c>*_momentum</c> blobs dropped, renamed by <see cref="Caffe2Names"/> and matched by suffix.</item>
/// <item><c>.pth</c>/<c>.pt</c>: a Detectron2 checkpoint (state dict under <c>model</c>) by exact name, or a bare torch state dict matched by suffix, as Detectron2 does.</item>
/// <item><c>.safetensors</c> (this port's format): exact names; a training-state file contributes its <c>model.*</c> tensors.</item>
/// </list>
/// </summary>
internal static class CheckpointReader
{
    public static CheckpointData Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".safetensors" => ReadSafeTensors(path),
            ".pkl" => ReadPickle(path),
            ".pth" or ".pt" => ReadTorch(path),
            _ => throw new CheckpointFormatException(path, $"unknown checkpoint extension '{extension}'; use .safetensors, .pkl, .pth or .pt."),
        };
    }

    private static CheckpointData ReadSafeTensors(string path)
    {
        var content = SafeTensors.Load(path);
        var isTrainingState = content.Metadata.TryGetValue(TrainingCheckpoint.FormatKey, out var format) && format == TrainingCheckpoint.FormatValue;
        var model = isTrainingState
            ? content.Tensors.Where(p => p.Key.StartsWith(TrainingCheckpoint.ModelPrefix, StringComparison.Ordinal))
                .Select(p => new KeyValuePair<string, Tensor>(p.Key[TrainingCheckpoint.ModelPrefix.Length..], p.Value)).ToList()
            : content.Tensors.ToList();
        var notes = isTrainingState ? new List<string> { "Reading the model weights of a training-state checkpoint." } : [];
        return new CheckpointData(model, null, MatchingHeuristics: false, notes);
    }

    private static CheckpointData ReadPickle(string path)
    {
        if (PickleReader.Load(path) is not OrderedDictionary<object, object?> data)
            throw new CheckpointFormatException(path, "the pickle does not hold a dict.");
        if (data.TryGetValue("model", out var model) && data.TryGetValue("__author__", out var author))
        {
            // Detectron2 model zoo: names are already Detectron2's.
            var authorText = author?.ToString();
            var heuristics = data.TryGetValue("matching_heuristics", out var flag) && IsTrue(flag);
            return new CheckpointData(Arrays(path, model), authorText, heuristics, [$"Reading a file from '{authorText}'"]);
        }
        // Caffe2 / Detectron1: detection models keep blobs under "blobs", ImageNet models do not.
        var blobs = data.TryGetValue("blobs", out var inner) ? inner : data;
        var weights = Arrays(path, blobs, skip: key => key.EndsWith("_momentum", StringComparison.Ordinal));
        return new CheckpointData(weights, "Caffe2", MatchingHeuristics: true, []);
    }

    private static CheckpointData ReadTorch(string path)
    {
        var loaded = TorchCheckpointReader.Read(path);
        // Hashtable order is arbitrary; sorting keeps reports reproducible.
        var model = TorchCheckpointReader.StateDict(path, loaded).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        // Detectron2 matches by suffix only a bare state dict (another codebase's); its own checkpoints, which keep the
        // weights under "model", load by exact name.
        var bare = loaded["model"] is not Hashtable;
        return new CheckpointData(model, null, MatchingHeuristics: bare, bare ? [] : ["Reading the \"model\" entry of a Detectron2 checkpoint."]);
    }

    /// <summary>fvcore's <c>_convert_ndarray_to_tensor</c>: every value must be an array; dtypes are kept (float64 stays float64).</summary>
    private static List<KeyValuePair<string, Tensor>> Arrays(string path, object? dict, Func<string, bool>? skip = null)
    {
        if (dict is not OrderedDictionary<object, object?> entries)
            throw new CheckpointFormatException(path, $"the model weights are a {dict?.GetType().Name ?? "None"}, not a dict.");
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var (key, value) in entries)
        {
            if (key is not string name)
                throw new CheckpointFormatException(path, $"weight key {key} is not a string.");
            if (skip?.Invoke(name) == true)
                continue;
            result.Add(value is NumpyArray array
                ? new(name, array.ToTensor())
                : throw new CheckpointFormatException(path, $"Unsupported type found in checkpoint! {name}: {PythonTypeName(value)}"));
        }
        return result;
    }

    private static bool IsTrue(object? value) => value switch
    {
        bool b => b,
        long l => l != 0,
        null => false,
        _ => true,
    };

    private static string PythonTypeName(object? value) => value switch
    {
        null => "NoneType",
        string => "str",
        long => "int",
        double => "float",
        bool => "bool",
        byte[] => "bytes",
        IList => "list",
        _ => value.GetType().Name,
    };
}
