using D2.Detection.Config;
using D2.Detection.Data.Synthetic;
using D2.Detection.Inference;
using D2.Detection.Modeling;

namespace D2.Benchmarks;

/// <summary>The serving and batching benches' model: the reduced demo config (cpu_mask_rcnn_R_18_FPN_GN_small with 32 FPN
/// channels at 120x160, random weights, as the serving tests use; 100 detections per image) and one synthetic JPEG.</summary>
internal static class ServingBenchModel
{
    /// <summary>Writes the model artifact to <c>{root}/model</c> and a synthetic image under <c>{root}/images</c>.</summary>
    /// <returns>the JPEG's bytes</returns>
    public static byte[] Write(string root, string jobName)
    {
        var cfg = ConfigLoader.Load("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
        [
            "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32",
            "INPUT.MIN_SIZE_TEST", "120", "INPUT.MAX_SIZE_TEST", "160",
        ]);
        TorchSharp.torch.manual_seed(0);
        using (var model = ModelBuilder.Build(cfg))
            ModelArtifact.Write(Path.Combine(root, "model"), model, cfg, ["balloon"], trainingJobName: jobName);
        SyntheticBalloons.Generate(Path.Combine(root, "images"), trainCount: 1, valCount: 0, seed: 1, width: 320, height: 240);
        return File.ReadAllBytes(Directory.EnumerateFiles(Path.Combine(root, "images", "train"), "*.jpg").First());
    }
}
