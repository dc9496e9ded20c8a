using D2.Detection.Config;
using D2.Detection.Engine;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Engine;

/// <summary>
/// A stand-in model for loop tests: loss_a = (w . x - 1)^2 over the batch's mean pixel x = (mean, 1), loss_b = 0.1 |w|^2;
/// a NaN loss_b at the iteration given in <see cref="NanAtCall"/> (counting forwards from 0).
/// </summary>
internal sealed class FakeDetector : nn.Module<IReadOnlyList<ModelInput>, Dictionary<string, Tensor>>
{
    // The field name equals the parameter's registered name: TorchSharp's to(device/dtype) rebinds fields by name.
#pragma warning disable IDE1006
    private readonly Parameter weight;
#pragma warning restore IDE1006
    private int _calls;

    public FakeDetector() : base(nameof(FakeDetector))
    {
        weight = new Parameter(tensor(new[] { 0.5f, -0.25f }));
        register_parameter(nameof(weight), weight);
    }

    public int? NanAtCall { get; init; }

    public float[] Weight => weight.detach().data<float>().ToArray();

    public override Dictionary<string, Tensor> forward(IReadOnlyList<ModelInput> batch)
    {
        var x = stack([stack(batch.Select(b => b.Image.to(float32).mean() / 255).ToArray()).mean(), tensor(1f)]);
        var lossB = 0.1f * weight.pow(2).sum();
        if (_calls++ == NanAtCall)
            lossB = lossB * float.NaN;
        return new() { ["loss_a"] = (weight.dot(x) - 1).pow(2), ["loss_b"] = lossB };
    }
}

/// <summary>Records the hook calls it sees.</summary>
internal sealed class RecordingHook : HookBase
{
    public List<string> Calls { get; } = [];
    public Action<TrainerBase>? OnAfterStep { get; init; }

    public override void BeforeTrain() => Calls.Add("BeforeTrain");
    public override void BeforeStep() => Calls.Add($"BeforeStep {Trainer.Iter}");

    public override void AfterStep()
    {
        Calls.Add($"AfterStep {Trainer.Iter}");
        OnAfterStep?.Invoke(Trainer);
    }

    public override void AfterTrain() => Calls.Add($"AfterTrain {Trainer.Iter}");
}

internal static class TrainingFixtures
{
    /// <summary>The small CPU Mask R-CNN shrunk so that an iteration takes a fraction of a second.</summary>
    public static CfgNode TinyMaskRCNNConfig(string outputDirectory, params string[] extra) => ModelZoo.GetConfig("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
    [
        "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32",
        "MODEL.RPN.BATCH_SIZE_PER_IMAGE", "64", "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE", "32", "MODEL.ROI_HEADS.NUM_CLASSES", "2",
        "MODEL.RPN.POST_NMS_TOPK_TRAIN", "100", "MODEL.RPN.PRE_NMS_TOPK_TRAIN", "200",
        "SOLVER.BASE_LR", "0.01", "SOLVER.WARMUP_ITERS", "2", "SOLVER.STEPS", "(3,)",
        "OUTPUT_DIR", outputDirectory,
        .. extra,
    ]);

    /// <summary>A 64x96 image with a square (class 0) and a triangle (class 1), BGR in 0..255, shifted by <paramref name="offset"/> pixels.</summary>
    public static ModelInput SyntheticImage(int offset = 0)
    {
        const int height = 64, width = 96;
        var pixels = new float[3 * height * width];
        Array.Fill(pixels, 40f);
        for (var y = 10 + offset; y < 40 + offset; y++)
            for (var x = 8; x < 38; x++)
                pixels[2 * height * width + y * width + x] = 230f;
        for (var y = 20; y < 60; y++)
            for (var x = 50; x < 50 + (y - 20) && x < 90; x++)
                pixels[1 * height * width + y * width + x] = 230f;
        var instances = new Instances((height, width));
        instances.Set("gt_boxes", new Boxes(tensor(new float[] { 8, 10 + offset, 38, 40 + offset, 50, 20, 90, 60 }, [2, 4])));
        instances.Set("gt_classes", tensor(new long[] { 0, 1 }));
        instances.Set("gt_masks", new PolygonMasks([
            [[8, 10 + offset, 38, 10 + offset, 38, 40 + offset, 8, 40 + offset]],
            [[50, 20, 50, 60, 90, 60]],
        ]));
        return new ModelInput(tensor(pixels, [3, height, width]), instances);
    }

    /// <summary>Batch t of an endless deterministic stream: two images whose content depends on t only.</summary>
    public static IEnumerator<IReadOnlyList<ModelInput>> Batches(Func<long> startIteration, long? failAt = null)
    {
        for (var t = startIteration(); ; t++)
        {
            if (t == failAt)
                throw new IOException($"simulated crash before iteration {t}");
            yield return [SyntheticImage((int)(t % 3)), SyntheticImage((int)((t + 1) % 3))];
        }
    }
}
