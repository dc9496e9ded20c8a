using D2.Detection.Config;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using SkiaSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Inference;

/// <summary>A tiny untrained Mask R-CNN (seeded) and synthetic images, made by code for the inference tests.</summary>
internal static class InferenceFixtures
{
    public const string SmallMaskConfig = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml";

    public static readonly string[] ClassNames = ["balloon", "kite"];

    /// <summary>Narrow heads, a small test size (short side 128, long side at most 192) and SCORE_THRESH_TEST 0 so that an
    /// untrained model still emits detections.</summary>
    public static CfgNode TinyConfig(params string[] extra) => ModelZoo.GetConfig(SmallMaskConfig,
    [
        "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32",
        "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0", "MODEL.ROI_HEADS.NUM_CLASSES", "2",
        "INPUT.MIN_SIZE_TEST", "128", "INPUT.MAX_SIZE_TEST", "192",
        .. extra,
    ]);

    /// <summary>The model of <paramref name="cfg"/> with weights drawn from a fixed seed.</summary>
    public static GeneralizedRCNN TinyModel(CfgNode cfg, int seed = 7)
    {
        manual_seed(seed);
        var model = ModelBuilder.Build(cfg);
        model.eval();
        return model;
    }

    /// <summary>A predictor over a fresh tiny model (which it owns).</summary>
    public static Predictor TinyPredictor(bool warmUp = false)
    {
        var cfg = TinyConfig();
        return new Predictor(cfg, TinyModel(cfg), new ModelMetadata(ClassNames, "BGR"), warmUp: warmUp, ownsModel: true);
    }

    /// <summary>A <paramref name="width"/> x <paramref name="height"/> picture: grey background, a red disc, a blue square.</summary>
    public static SKBitmap SyntheticBitmap(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(new SKColor(128, 128, 128));
        using var red = new SKPaint { Color = new SKColor(220, 40, 40), IsAntialias = false };
        canvas.DrawCircle(width * 0.3f, height * 0.5f, Math.Min(width, height) * 0.25f, red);
        using var blue = new SKPaint { Color = new SKColor(30, 60, 210), IsAntialias = false };
        canvas.DrawRect(width * 0.6f, height * 0.2f, width * 0.3f, height * 0.4f, blue);
        canvas.Flush();
        return bitmap;
    }

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var data = bitmap.Encode(format, 95);
        return data.ToArray();
    }

    public static byte[] SyntheticPng(int width, int height)
    {
        using var bitmap = SyntheticBitmap(width, height);
        return Encode(bitmap);
    }

    /// <summary>Instances as a model returns them, from plain arrays: boxes XYXY, scores, classes, row-major 0/1 masks.</summary>
    public static Instances Predictions(int height, int width, float[][] boxes, float[] scores, long[] classes, byte[][]? masks = null)
    {
        var instances = new Instances((height, width));
        instances.Set("pred_boxes", new Boxes(tensor(boxes.SelectMany(b => b).ToArray(), [boxes.Length, 4])));
        instances.Set("scores", tensor(scores));
        instances.Set("pred_classes", tensor(classes));
        if (masks is not null)
            instances.Set("pred_masks", tensor(masks.SelectMany(m => m).ToArray(), [masks.Length, height, width]).to(ScalarType.Bool));
        return instances;
    }

    /// <summary>Row-major 0/1 mask of the axis-aligned rectangle [x0, x1) x [y0, y1).</summary>
    public static byte[] RectangleMask(int height, int width, int x0, int y0, int x1, int y1)
    {
        var mask = new byte[height * width];
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
                mask[y * width + x] = 1;
        return mask;
    }

    /// <summary>Reads (N, H, W) bool masks as row-major 0/1 bytes.</summary>
    public static byte[] MaskBytes(Tensor masks, int index)
    {
        using var scope = NewDisposeScope();
        return masks[index].to(ScalarType.Byte).contiguous().data<byte>().ToArray();
    }

    /// <summary>Same shape and every element equal.</summary>
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    public static string TemporaryDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "d2-inference-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
