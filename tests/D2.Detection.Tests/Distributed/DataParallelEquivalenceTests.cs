using System.Net;
using D2.Detection.Config;
using D2.Detection.Data.Loader;
using D2.Detection.Distributed;
using D2.Detection.Engine;
using D2.Detection.Modeling;
using D2.Detection.Tests.Engine;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Distributed;

/// <summary>
/// The issue's acceptance check of Detectron2's data-parallel semantics: 2 workers × 1 image equal 1 worker × 2 images,
/// under settings where Detectron2's per-batch loss normalisers agree between the layouts (Faster R-CNN, fixed data
/// order, no flip, every anchor and proposal kept, same-size images with the same number of objects). The two ranks
/// run on threads of this process over real Gloo collectives; rank 1 starts from different random weights, which the
/// start-of-training broadcast must replace with rank 0's.
/// </summary>
[CancelAfter(120_000)]
public class DataParallelEquivalenceTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-ddp-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    private static CfgNode Config(string output, int imsPerBatch, bool clip) => ModelZoo.GetConfig("Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml",
    [
        "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_HEADS.NUM_CLASSES", "2",
        // Every anchor and every proposal is a training sample: the RPN normaliser (BATCH_SIZE_PER_IMAGE × images) and
        // the ROI head's mean over samples are then the same sums in both layouts.
        "MODEL.RPN.BATCH_SIZE_PER_IMAGE", "100000", "MODEL.RPN.POSITIVE_FRACTION", "1.0",
        "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE", "100000", "MODEL.ROI_HEADS.POSITIVE_FRACTION", "1.0",
        "MODEL.RPN.PRE_NMS_TOPK_TRAIN", "200", "MODEL.RPN.POST_NMS_TOPK_TRAIN", "40",
        "SOLVER.IMS_PER_BATCH", imsPerBatch.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "SOLVER.BASE_LR", "0.01", "SOLVER.WARMUP_ITERS", "1", "SOLVER.MAX_ITER", "3", "SOLVER.CHECKPOINT_PERIOD", "1000",
        "SOLVER.CLIP_GRADIENTS.ENABLED", clip ? "True" : "False", "SOLVER.CLIP_GRADIENTS.CLIP_TYPE", "full_model", "SOLVER.CLIP_GRADIENTS.CLIP_VALUE", "1.0",
        "OUTPUT_DIR", output,
    ]);

    /// <summary>Image n of the fixed data order: two objects each, same size, different placements.</summary>
    private static ModelInput Image(long n) => TrainingFixtures.SyntheticImage((int)(n % 3));

    /// <summary>Batches of <paramref name="perWorker"/> images for one rank: islice(rank, None, world) of 0, 1, 2, ...</summary>
    private static IEnumerator<IReadOnlyList<ModelInput>> Stream(int rank, int world, int perWorker)
    {
        var indices = new RankShard(Enumerable.Range(0, int.MaxValue), rank, world).GetEnumerator();
        while (true)
        {
            var batch = new List<ModelInput>();
            for (var i = 0; i < perWorker && indices.MoveNext(); i++)
                batch.Add(Image(indices.Current));
            yield return batch;
        }
    }

    private static readonly string[] LossNames = ["loss_cls", "loss_box_reg", "loss_rpn_cls", "loss_rpn_loc", "total_loss"];

    private static (Dictionary<string, float[]> Weights, Dictionary<string, double[]> Losses) Train(CfgNode cfg, GeneralizedRCNN model, IEnumerator<IReadOnlyList<ModelInput>> data, IProcessGroup? group)
    {
        using var trainer = new Trainer(cfg, model, data, group: group);
        trainer.ResumeOrLoad(resume: false);
        trainer.Train();
        var losses = LossNames.ToDictionary(n => n, n => trainer.Loop.Storage.History(n).Values().Select(v => v.Value).ToArray());
        var weights = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().to(ScalarType.Float32).data<float>().ToArray());
        return (weights, losses);
    }

    // With clipping (the issue's setting) and without: the clipped step hides the gradients' scale, the plain one does not,
    // so together they check the average (not the sum) of the ranks' gradients and the clipping of that average.
    [TestCase(true)]
    [TestCase(false)]
    public void Two_workers_with_one_image_each_equal_one_worker_with_two_images_after_three_SGD_iterations(bool clip)
    {
        var single = Config(Path.Combine(_folder, "single"), imsPerBatch: 2, clip);
        var ranks = Enumerable.Range(0, 2).Select(r => Config(Path.Combine(_folder, $"rank{r}"), imsPerBatch: 2, clip)).ToArray();
        Assert.That(DetectionDataLoaders.ImagesPerWorker(2, 2), Is.EqualTo(1));

        manual_seed(7);
        using var singleModel = ModelBuilder.Build(single);
        manual_seed(7);
        using var rank0Model = ModelBuilder.Build(ranks[0]);
        manual_seed(8); // rank 1 draws other weights: the broadcast from rank 0 must replace them
        using var rank1Model = ModelBuilder.Build(ranks[1]);
        Assert.That(rank1Model.state_dict().First(p => p.Value.dtype == ScalarType.Float32 && p.Value.numel() > 100).Value
            .allclose(rank0Model.state_dict().First(p => p.Value.dtype == ScalarType.Float32 && p.Value.numel() > 100).Value), Is.False);

        var reference = Train(single, singleModel, Stream(0, 1, 2), null);

        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        GeneralizedRCNN[] models = [rank0Model, rank1Model];
        var workers = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(10));
            using var group = GlooProcessGroup.Create(store, rank, 2, TimeSpan.FromSeconds(60));
            return Train(ranks[rank], models[rank], Stream(rank, 2, 1), group);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WaitAll(workers, TimeSpan.FromSeconds(100)), Is.True, "both ranks finished");
        var (rank0, rank1) = (workers[0].Result, workers[1].Result);

        var largest = 0.0;
        var where = "";
        foreach (var (name, expected) in reference.Weights)
        {
            Assert.That(rank1.Weights[name], Is.EqualTo(rank0.Weights[name]), $"{name}: the ranks hold the same weights");
            var actual = rank0.Weights[name];
            var scale = expected.Max(v => Math.Abs((double)v));
            for (var i = 0; i < expected.Length; i++)
            {
                var relative = Math.Abs(actual[i] - (double)expected[i]) / Math.Max(scale, 1e-6);
                if (relative > largest)
                    (largest, where) = (relative, $"{name}[{i}]");
            }
        }
        TestContext.Out.WriteLine($"clipping {(clip ? "on" : "off")}: largest relative weight difference after 3 iterations: {largest:E2} at {where}");
        Assert.That(largest, Is.LessThanOrEqualTo(2e-5), $"largest relative difference at {where}");

        foreach (var name in LossNames)
        {
            Assert.That(reference.Losses[name], Has.Length.EqualTo(3));
            for (var t = 0; t < 3; t++)
            {
                Assert.That(rank0.Losses[name][t], Is.EqualTo(reference.Losses[name][t]).Within(2e-5 * Math.Max(1, Math.Abs(reference.Losses[name][t]))), $"{name} at iteration {t}");
                Assert.That(rank1.Losses[name][t], Is.EqualTo(rank0.Losses[name][t]), $"{name}: every rank logs the reduced value");
            }
        }

        // Rank 0 alone writes: metrics.json and the final checkpoint exist for rank 0 only.
        Assert.That(File.Exists(Path.Combine(_folder, "rank0", "metrics.json")), Is.True);
        Assert.That(File.Exists(Path.Combine(_folder, "rank0", "model_final.safetensors")), Is.True);
        Assert.That(Directory.Exists(Path.Combine(_folder, "rank1")) ? Directory.GetFiles(Path.Combine(_folder, "rank1"), "*", SearchOption.AllDirectories) : [], Is.Empty);
    }
}
