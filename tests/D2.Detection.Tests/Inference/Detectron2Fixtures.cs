using System.Globalization;
using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Layers;
using D2.Detection.Modeling;
using D2.Detection.Tests.Checkpoint;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Inference;

/// <summary>
/// Folders as Detectron2 writes them, made at test time: config.yaml is Detectron2's own dump of
/// mask_rcnn_R_50_FPN_3x (every key, PyYAML anchors and aliases) with a few leaves changed to shrink the model (an R50-FPN
/// with 4-wide bottlenecks, about 0.2 M parameters), and the weights as Detectron2's checkpointer (model_final.pth) or the
/// model zoo (.pkl) save them.
/// </summary>
internal static class Detectron2Fixtures
{
    public const string DumpFileName = "detectron2-config-mask_rcnn_R_50_FPN_3x.yaml";

    /// <summary>Where the dump lies beside the test assembly.</summary>
    public static string DumpPath => Path.Combine(AppContext.BaseDirectory, "Config", "Fixtures", DumpFileName);

    /// <summary>The dump with the tiny model's leaves; <paramref name="extra"/> are further (dotted key, YAML value) replacements.</summary>
    public static string ConfigYaml(bool mask = true, int numClasses = 2, int minSizeTest = 96, int maxSizeTest = 160,
        params (string Key, string Value)[] extra)
    {
        (string, string)[] leaves =
        [
            ("MODEL.MASK_ON", mask ? "true" : "false"),
            ("MODEL.ROI_HEADS.NUM_CLASSES", numClasses.ToString(CultureInfo.InvariantCulture)),
            ("INPUT.MIN_SIZE_TEST", minSizeTest.ToString(CultureInfo.InvariantCulture)),
            ("INPUT.MAX_SIZE_TEST", maxSizeTest.ToString(CultureInfo.InvariantCulture)),
            ("MODEL.RESNETS.STEM_OUT_CHANNELS", "8"),
            ("MODEL.RESNETS.RES2_OUT_CHANNELS", "16"),
            ("MODEL.RESNETS.WIDTH_PER_GROUP", "4"),
            ("MODEL.FPN.OUT_CHANNELS", "16"),
            ("MODEL.ROI_BOX_HEAD.FC_DIM", "32"),
            ("MODEL.ROI_MASK_HEAD.CONV_DIM", "8"),
            // Left as Detectron2 dumps them from a GPU training run: predict must run on the CPU anyway.
            ("MODEL.DEVICE", "cpu"),
            .. extra,
        ];
        return ReplaceLeaves(File.ReadAllText(DumpPath), leaves);
    }

    /// <summary>Replaces the scalar values of dotted keys in a block-style YAML dump (two spaces per level, as PyYAML writes).</summary>
    public static string ReplaceLeaves(string yaml, IReadOnlyList<(string Key, string Value)> leaves)
    {
        var lines = yaml.Split('\n');
        var path = new List<string>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.TrimStart(' ');
            if (trimmed.Length == 0 || trimmed.StartsWith('#') || trimmed.StartsWith('-'))
                continue;
            var colon = trimmed.IndexOf(':');
            if (colon < 0)
                continue;
            var depth = (line.Length - trimmed.Length) / 2;
            path.RemoveRange(depth, path.Count - depth);
            path.Add(trimmed[..colon]);
            var key = string.Join('.', path);
            foreach (var (leaf, value) in leaves)
                if (leaf == key)
                {
                    lines[i] = line[..(line.Length - trimmed.Length)] + trimmed[..colon] + ": " + value;
                    done.Add(leaf);
                }
        }
        var missing = leaves.Select(l => l.Key).Where(k => !done.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"Not in the dump: {string.Join(", ", missing)}");
        return string.Join('\n', lines);
    }

    /// <summary>The model of a folder's config with seeded weights; FrozenBN statistics and the classifier are randomised too,
    /// so that every kind of tensor must load for the predictions to match.</summary>
    public static GeneralizedRCNN Model(CfgNode cfg, int seed = 11)
    {
        manual_seed(seed);
        var model = ModelBuilder.Build(cfg);
        using (no_grad())
        {
            foreach (var (name, module) in model.named_modules())
                if (module is FrozenBatchNorm2d)
                    foreach (var (buffer, tensor) in module.named_buffers(recurse: false))
                        tensor.copy_(buffer switch
                        {
                            "weight" => rand(tensor.shape) * 0.4 + 0.3,
                            "running_var" => rand(tensor.shape) + 0.5,
                            _ => randn(tensor.shape) * 0.1,
                        });
            foreach (var (name, parameter) in model.named_parameters())
                if (name.Contains("cls_score", StringComparison.Ordinal))
                    parameter.copy_(randn(parameter.shape) * 0.3);
        }
        model.eval();
        return model;
    }

    public static CfgNode LoadConfig(string yaml)
    {
        var cfg = DefaultConfig.Create();
        cfg.MergeFromYamlText(yaml, "fixture config.yaml");
        cfg.Validate(ConfigPurpose.Inference);
        return cfg;
    }

    /// <summary>A folder with config.yaml only; the caller adds the weights.</summary>
    public static string Folder(string root, string name, string configYaml)
    {
        var folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.yaml"), configYaml);
        return folder;
    }

    /// <summary>Detectron2's checkpointer: <c>torch.save({"model": state_dict, "scheduler": ..., "iteration": ...})</c>.</summary>
    public static void WritePth(string path, nn.Module model, params (string Key, Tensor Value)[] extra)
    {
        using var scope = NewDisposeScope();
        var stateDict = model.state_dict().Select(p => new KeyValuePair<string, Tensor>(p.Key, p.Value))
            .Concat(extra.Select(e => new KeyValuePair<string, Tensor>(e.Key, e.Value)));
        TorchZipWriter.Save(path,
        [
            new("model", TorchZipWriter.StateDict(stateDict)),
            new("scheduler", new List<KeyValuePair<string, object?>> { new("base_lrs", null), new("last_epoch", 270000L) }),
            new("iteration", 269999L),
        ], "model_final");
    }

    /// <summary>The model zoo's .pkl: <c>{"model": {name: numpy array}, "__author__": "Detectron2 Model Zoo"}</c>.</summary>
    public static void WritePkl(string path, nn.Module model, Func<string, bool>? keep = null)
    {
        using var scope = NewDisposeScope();
        var arrays = model.state_dict()
            .Where(p => keep?.Invoke(p.Key) ?? true)
            .Select(p => new KeyValuePair<string, object?>(p.Key, ToNumpy(p.Value)))
            .ToList();
        File.WriteAllBytes(path, NumpyPickleWriter.Dump(
        [
            new("model", arrays),
            new("__author__", "Detectron2 Model Zoo"),
        ]));
    }

    private static NpArray ToNumpy(Tensor tensor)
    {
        var cpu = tensor.detach().cpu().contiguous();
        return cpu.dtype switch
        {
            ScalarType.Float32 => NpArray.Of(cpu.data<float>().ToArray(), cpu.shape),
            ScalarType.Int64 => NpArray.Of(cpu.data<long>().ToArray(), cpu.shape),
            _ => throw new ArgumentException($"No fixture array for {cpu.dtype}."),
        };
    }

    /// <summary>The folder's safetensors twin, written by this project's checkpointer.</summary>
    public static void WriteSafeTensors(string path, nn.Module model) => DetectionCheckpointer.Save(model, path);
}
