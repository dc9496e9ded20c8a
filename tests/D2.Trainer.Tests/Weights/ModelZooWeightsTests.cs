using D2.Detection.Tests.Checkpoint;

namespace D2.Trainer.Tests.Weights;

/// <summary>
/// `d2 train` with the unmodified model-zoo config COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml, whose MODEL.WEIGHTS is
/// detectron2://ImageNetPretrained/MSRA/R-50.pkl, against a loopback model zoo (D2_MODEL_ZOO_URL): the file is an
/// R-50.pkl-shaped Caffe2 pickle (the real names and shapes of the stem and res2, plus fc1000) so the run exercises
/// Detectron2's Caffe2 renaming; eval-only on two tiny images keeps each run to seconds.
/// </summary>
[NonParallelizable]
public class ModelZooWeightsTests
{
    const string ZooPath = "/detectron2/ImageNetPretrained/MSRA/R-50.pkl";
    string _root = "";
    byte[] _pickle = [];

    [OneTimeSetUp]
    public void CreateDataset()
    {
        _root = Directory.CreateTempSubdirectory("d2-zoo-").FullName;
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", Path.Combine(_root, "datasets", "balloon"), "--train", "2", "--val", "2", "--size", "160x120");
        Assert.That(exit, Is.Zero, stderr);
        _pickle = NumpyPickleWriter.Dump(Caffe2ResNet50Head());
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(_root, recursive: true);

    /// <summary>MSRA R-50.pkl's Caffe2 blobs for the stem and res2 (shapes of the real file), and the ImageNet classifier the detector does not use.</summary>
    static List<KeyValuePair<string, object?>> Caffe2ResNet50Head()
    {
        var random = new Random(17);
        var blobs = new List<KeyValuePair<string, object?>>();
        void Add(string name, params long[] shape)
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (var i = 0; i < values.Length; i++)
                values[i] = (float)(random.NextDouble() - 0.5) * 0.1f;
            blobs.Add(new(name, NpArray.Of(values, shape)));
        }
        void Norm(string prefix, long channels)
        {
            Add(prefix + "_bn_s", channels);
            Add(prefix + "_bn_b", channels);
        }
        Add("conv1_w", 64, 3, 7, 7);
        Norm("res_conv1", 64);
        for (var block = 0; block < 3; block++)
        {
            var input = block == 0 ? 64 : 256;
            var name = $"res2_{block}_branch";
            if (block == 0)
            {
                Add(name + "1_w", 256, 64, 1, 1);
                Norm(name + "1", 256);
            }
            Add(name + "2a_w", 64, input, 1, 1);
            Norm(name + "2a", 64);
            Add(name + "2b_w", 64, 64, 3, 3);
            Norm(name + "2b", 64);
            Add(name + "2c_w", 256, 64, 1, 1);
            Norm(name + "2c", 256);
        }
        Add("fc1000_w", 1000, 2048);
        Add("fc1000_b", 1000);
        return blobs;
    }

    (int Exit, string Stdout, string Stderr) EvalOnly(Uri zoo, string cache, string output) =>
        D2Process.RunWithEnvironment(
            new() { ["D2_MODEL_ZOO_URL"] = new Uri(zoo, "detectron2/").ToString(), ["D2_CACHE"] = cache, ["D2_DOWNLOAD_RETRIES"] = "1" },
            "train", "--config-file", "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml", "--eval-only", "--output", output,
            "--datasets-root", Path.Combine(_root, "datasets"), "--opts", "MODEL.DEVICE", "cpu", "DATASETS.TEST", "(\"balloon_val\",)",
            // The heads are random (the ImageNet file holds the backbone only): one class, so whatever they predict is
            // a class of the one-class balloon set; a fixed seed keeps the run the same each time.
            "MODEL.ROI_HEADS.NUM_CLASSES", "1", "SEED", "7",
            "INPUT.MIN_SIZE_TEST", "120", "INPUT.MAX_SIZE_TEST", "160", "DATALOADER.NUM_WORKERS", "0");

    [Test]
    public async Task Downloads_once_through_a_cut_connection_then_reuses_the_cache()
    {
        var cache = Path.Combine(_root, "cache");
        await using var server = await ModelZooServer.StartAsync(new() { [ZooPath] = _pickle });
        server.CutNextAfter = _pickle.Length / 3;

        var (exit, stdout, stderr) = EvalOnly(server.Url, cache, Path.Combine(_root, "first"));
        Assert.That(exit, Is.Zero, stderr + stdout);
        var cached = Path.Combine(cache, "detectron2", "ImageNetPretrained", "MSRA", "R-50.pkl");
        Assert.That(File.ReadAllBytes(cached), Is.EqualTo(_pickle), "the cached file is the served file");
        Assert.That(File.Exists(cached + ".partial"), Is.False);
        // The cut response, then one request resuming where it stopped.
        // (The client resumes from the bytes it holds: all of the cut's unless the reset overtook some of them.)
        var requests = server.Requests.ToArray();
        Assert.That(requests, Has.Length.EqualTo(2));
        Assert.That(requests[0], Is.EqualTo(ZooPath));
        var resume = System.Text.RegularExpressions.Regex.Match(requests[1], $"^{ZooPath} bytes=(\\d+)-$");
        Assert.That(resume.Success, requests[1]);
        Assert.That(long.Parse(resume.Groups[1].Value), Is.InRange(1L, _pickle.Length / 3), "resumed inside the cut part");
        Assert.That(stdout, Does.Contain("Download interrupted").And.Contain($"Resuming at").And.Contain("100%"));
        // Loaded from the complete cache file with Detectron2's Caffe2 renaming.
        Assert.That(stdout, Does.Contain($"[Checkpointer] Loading from {cached} ...").And.Contain("Remapping C2 weights"));
        Assert.That(stdout, Does.Contain("fc1000"), "the unused ImageNet classifier is reported");
        Assert.That(File.ReadAllText(Path.Combine(_root, "first", "config.yaml")), Does.Contain("detectron2://ImageNetPretrained/MSRA/R-50.pkl"));

        (exit, stdout, stderr) = EvalOnly(server.Url, cache, Path.Combine(_root, "second"));
        Assert.That(exit, Is.Zero, stderr + stdout);
        Assert.That(server.Requests, Has.Count.EqualTo(2), "the second run downloads nothing");
        Assert.That(stdout, Does.Contain($"Using cached {cached}"));
    }

    [Test]
    public async Task Offline_fails_naming_the_model_channel_and_never_loads_a_partial_file()
    {
        var cache = Path.Combine(_root, "offline-cache");
        var cached = Path.Combine(cache, "detectron2", "ImageNetPretrained", "MSRA", "R-50.pkl");
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        await File.WriteAllBytesAsync(cached + ".partial", _pickle.AsMemory(0, _pickle.Length / 2).ToArray());
        Uri gone;
        await using (var server = await ModelZooServer.StartAsync(new()))
            gone = server.Url;

        var (exit, stdout, stderr) = EvalOnly(gone, cache, Path.Combine(_root, "offline"));
        Assert.That(exit, Is.EqualTo(2), stderr + stdout);
        Assert.That(stderr, Does.Contain("Could not download MODEL.WEIGHTS detectron2://ImageNetPretrained/MSRA/R-50.pkl")
            .And.Contain("'model' channel").And.Contain("MODEL.WEIGHTS /opt/ml/input/data/model/R-50.pkl"));
        Assert.That(stdout + stderr, Does.Not.Contain("[Checkpointer] Loading"), "nothing is loaded");
        Assert.That(File.Exists(cached), Is.False, "the partial file is never promoted");
        Assert.That(new FileInfo(cached + ".partial").Length, Is.EqualTo(_pickle.Length / 2), "kept for the next attempt to resume");
    }
}
