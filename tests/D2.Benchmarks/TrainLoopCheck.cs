using System.Text.Json;
using D2.Detection.Config;
using D2.Detection.Data.Datasets;
using D2.Detection.Data.Loader;
using D2.Detection.Data.Synthetic;
using D2.Detection.Modeling;

namespace D2.Benchmarks;

/// <summary>
/// `trainloop`: seconds per iteration and data_time of the real training loop (data loader with workers, Trainer, hooks)
/// on synthetic balloons, for the demo config (the baseline) and for mask_rcnn_R_50_FPN at 512 px, batch 2, in one run.
/// Reports the medians Detectron2 logs (over the last 20 iterations, the first 3 excluded from "time").
/// </summary>
internal static class TrainLoopCheck
{
    public static int Run()
    {
        var root = Directory.CreateTempSubdirectory("d2-trainloop-").FullName;
        try
        {
            SyntheticBalloons.Generate(Path.Combine(root, "datasets", "balloon"), trainCount: 64, valCount: 4);
            var (records, _) = new DatasetCatalog(Path.Combine(root, "datasets"), TextWriter.Null).Get("balloon_train");
            (string Name, string Config, string[] Opts, int Iterations)[] cases =
            [
                ("demo: Misc/cpu_mask_rcnn_R_18_FPN_GN_small (320x240, batch 4)", "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", [], 40),
                ("mask_rcnn_R_50_FPN_3x at 512 px, batch 2", "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml",
                    ["MODEL.DEVICE", "cpu", "MODEL.WEIGHTS", "", "MODEL.ROI_HEADS.NUM_CLASSES", "1", "INPUT.MIN_SIZE_TRAIN", "(512,)", "INPUT.MAX_SIZE_TRAIN", "683",
                     "SOLVER.IMS_PER_BATCH", "2",
                     // From scratch with FrozenBN (a config meant for ImageNet weights) a real LR diverges; the timing does not depend on it.
                     "SOLVER.BASE_LR", "0.0001", "SOLVER.CLIP_GRADIENTS.ENABLED", "True"], 23),
            ];
            double? baseline = null;
            foreach (var (name, config, opts, iterations) in cases)
            {
                var output = Path.Combine(root, "output", baseline is null ? "demo" : "r50");
                var cfg = ModelZoo.GetConfig(config, [.. opts, "OUTPUT_DIR", output, "SOLVER.MAX_ITER", iterations.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "SOLVER.CHECKPOINT_PERIOD", "100000", "TEST.EVAL_PERIOD", "0", "DATASETS.TEST", "()"]);
                using var model = ModelBuilder.BuildOnDevice(cfg);
                using var loader = DetectionDataLoaders.BuildTrainLoader(cfg, records, log: TextWriter.Null);
                using (var trainer = new D2.Detection.Engine.Trainer(cfg, model, loader.GetEnumerator()))
                {
                    trainer.ResumeOrLoad(resume: false);
                    trainer.Train();
                }
                // metrics.json: the last line holds the medians at the final iteration.
                using var last = JsonDocument.Parse(File.ReadLines(Path.Combine(output, "metrics.json")).Last());
                var time = last.RootElement.GetProperty("time").GetDouble();
                var dataTime = last.RootElement.GetProperty("data_time").GetDouble();
                baseline ??= time;
                Console.WriteLine($"{name,-66} {time,7:F3} s/iteration  data_time {dataTime:F4} s  ({time / baseline.Value:F2}x the demo)");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
