using System.Diagnostics;
using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Data.Loader;
using D2.Detection.Data.Transforms;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using SkiaSharp;
using static D2.Detection.Tests.DataPipeline.ImageFixtures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.DataPipeline;

/// <summary>The training loader: deterministic batches under a seed whatever the threads do, errors that name the file, clean disposal.</summary>
public class DataLoaderTests
{
    TempFolder _folder = null!;
    DatasetRecord[] _records = null!;

    [OneTimeSetUp]
    public void WriteImages()
    {
        _folder = new TempFolder();
        // Ten small images, landscape and portrait, each with one box in its middle.
        (int H, int W)[] sizes = [(12, 18), (18, 12), (14, 20), (20, 14), (16, 16), (10, 24), (24, 10), (12, 13), (13, 12), (15, 22)];
        _records = sizes.Select((s, i) =>
        {
            var file = _folder.Write($"image{i}.png", Encode(Noise(s.H, s.W, i), s.H, s.W, SKEncodedImageFormat.Png));
            return new DatasetRecord(file, s.H, s.W, i, [new DatasetAnnotation([2, 2, s.W - 3, s.H - 4], i % 3)]);
        }).ToArray();
    }

    [OneTimeTearDown]
    public void DeleteImages() => _folder.Dispose();

    static DatasetMapper SmallMapper() =>
        new(true, [new ResizeShortestEdge([8, 10, 12], 20, ShortEdgeSampling.Choice), new RandomFlip(0.5)], "BGR");

    DataLoader Loader(int workers, long seed = 11, bool grouping = true) =>
        new(_records, SmallMapper().Map, new TrainingSampler(_records.Length, seed: 3), batchSize: 3, grouping, workers, seed);

    // Everything a batch carries, as text: file, image bytes, boxes.
    static List<string> Describe(DataLoader loader, int batches)
    {
        var result = new List<string>();
        for (var b = 0; b < batches; b++)
        {
            using var batch = loader.Next();
            for (var i = 0; i < batch.Count; i++)
            {
                var input = batch[i];
                var pixels = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(input.Image.data<byte>().ToArray()));
                var boxes = string.Join(",", input.Instances!.Get<Boxes>("gt_boxes").Tensor.data<float>().ToArray());
                result.Add($"{b}: {Path.GetFileName(batch.Records[i].FileName)} {string.Join("x", input.Image.shape)} {pixels} [{boxes}]");
            }
        }
        return result;
    }

    [Test]
    public void Same_seed_gives_identical_batches_across_runs_and_worker_counts()
    {
        List<string> first, second, single;
        using (var loader = Loader(workers: 2)) first = Describe(loader, 8);
        using (var loader = Loader(workers: 2)) second = Describe(loader, 8);
        using (var loader = Loader(workers: 0)) single = Describe(loader, 8);
        List<string> otherSeed;
        using (var loader = Loader(workers: 2, seed: 12)) otherSeed = Describe(loader, 8);

        Assert.That(second, Is.EqualTo(first));
        Assert.That(single, Is.EqualTo(first));
        Assert.That(otherSeed, Is.Not.EqualTo(first));
    }

    [Test]
    public void Batches_have_the_batch_size_and_one_orientation()
    {
        using var loader = Loader(workers: 2);

        for (var b = 0; b < 10; b++)
        {
            using var batch = loader.Next();
            Assert.That(batch, Has.Count.EqualTo(3));
            Assert.That(batch.Records.Select(r => r.Width > r.Height).Distinct().Count(), Is.EqualTo(1));
            Assert.That(batch.DataTime, Is.GreaterThanOrEqualTo(TimeSpan.Zero));
        }
    }

    [Test]
    public void Without_grouping_batches_follow_the_sampler_order()
    {
        using var loader = Loader(workers: 2, grouping: false);
        var order = new TrainingSampler(_records.Length, seed: 3).Take(9).ToArray();

        var files = Enumerable.Range(0, 3).SelectMany(_ =>
        {
            using var batch = loader.Next();
            return batch.Records.Select(r => r.ImageId).ToArray();
        });

        Assert.That(files, Is.EqualTo(order.Select(i => (long)i)));
    }

    [Test]
    public void A_worker_error_reaches_the_consumer_naming_the_file()
    {
        var missing = Path.Combine(_folder.Path, "missing.png");
        DatasetRecord[] withMissing = [_records[0], _records[1], new DatasetRecord(missing, 10, 10, 99, []), _records[2]];
        using var loader = new DataLoader(withMissing, SmallMapper().Map, new TrainingSampler(4, shuffle: false), 2,
            aspectRatioGrouping: false, numWorkers: 2);

        loader.Next().Dispose();
        var error = Assert.Throws<DataMappingException>(() => loader.Next());

        Assert.That(error!.FileName, Is.EqualTo(missing));
        Assert.That(error.Message, Does.Contain(missing));
        Assert.That(error.InnerException, Is.TypeOf<ImageDecodeException>());
        Assert.That(() => loader.Next(), Throws.TypeOf<DataMappingException>(), "the loader stays faulted");
    }

    [Test]
    public void Dispose_mid_stream_returns_promptly_and_frees_every_item_not_handed_out()
    {
        var made = new System.Collections.Concurrent.ConcurrentBag<Tensor>();
        var loader = new DataLoader(_records, (record, random) =>
        {
            Thread.Sleep(5);
            var image = zeros(3, 4, 4, ScalarType.Byte);
            made.Add(image);
            return new ModelInput(image, null, record.Height, record.Width);
        }, new TrainingSampler(_records.Length), batchSize: 2, aspectRatioGrouping: true, numWorkers: 3, prefetch: 8);
        loader.Next().Dispose();
        Thread.Sleep(50); // let the workers fill the prefetch window

        var watch = Stopwatch.StartNew();
        loader.Dispose();

        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(made, Has.Count.GreaterThan(4), "workers mapped ahead");
        Assert.That(made.Where(t => !t.IsInvalid), Is.Empty, "prefetched and bucketed images are disposed");
        Assert.That(() => loader.Next(), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void Dispose_wakes_a_consumer_waiting_for_a_batch()
    {
        using var release = new ManualResetEventSlim();
        var loader = new DataLoader(_records, (record, random) =>
        {
            release.Wait(TimeSpan.FromSeconds(2));
            return new ModelInput(zeros(3, 4, 4, ScalarType.Byte), null, record.Height, record.Width);
        }, new TrainingSampler(_records.Length), batchSize: 2, numWorkers: 2);
        // Dedicated threads, and waits on their states rather than on sleeps, so that a loaded machine cannot reorder the steps.
        Exception? consumed = null;
        var consumer = new Thread(() =>
        {
            try { loader.Next(); }
            catch (Exception e) { consumed = e; }
        });
        consumer.Start();
        Assert.That(SpinWait.SpinUntil(() => consumer.ThreadState.HasFlag(System.Threading.ThreadState.WaitSleepJoin), TimeSpan.FromSeconds(5)), Is.True, "consumer waits");

        var disposing = new Thread(loader.Dispose);
        disposing.Start();
        // Dispose blocks joining the workers, which are held in the mapping function, only after it marked the loader stopped.
        Assert.That(SpinWait.SpinUntil(() => disposing.ThreadState.HasFlag(System.Threading.ThreadState.WaitSleepJoin), TimeSpan.FromSeconds(5)), Is.True, "dispose started");
        release.Set();

        Assert.That(disposing.Join(TimeSpan.FromSeconds(5)), Is.True, "Dispose returned");
        Assert.That(consumer.Join(TimeSpan.FromSeconds(5)), Is.True, "consumer woke up");
        Assert.That(consumed, Is.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void Data_time_measures_the_wait_for_mapping()
    {
        using var loader = new DataLoader(_records, (record, random) =>
        {
            Thread.Sleep(30);
            return new ModelInput(zeros(3, 4, 4, ScalarType.Byte), null, record.Height, record.Width);
        }, new TrainingSampler(_records.Length), batchSize: 2, aspectRatioGrouping: false, numWorkers: 1);

        using var batch = loader.Next();

        Assert.That(batch.DataTime, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50)));
        Assert.That(loader.LastDataTime, Is.EqualTo(batch.DataTime));
    }

    [Test]
    public void Train_loader_from_config_filters_crowd_only_images_and_batches_ims_per_batch()
    {
        var cfg = DefaultConfig.Create();
        cfg.MergeFromList(["INPUT.MIN_SIZE_TRAIN", "(8,)", "INPUT.MAX_SIZE_TRAIN", "20", "SOLVER.IMS_PER_BATCH", "2",
            "DATALOADER.NUM_WORKERS", "2", "SEED", "5"]);
        var crowdOnly = _records[4] with { Annotations = [new DatasetAnnotation([0, 0, 4, 4], 0, IsCrowd: true)] };
        DatasetRecord[] dataset = [.. _records[..4], crowdOnly, .. _records[5..]];

        using var loader = DetectionDataLoaders.BuildTrainLoader(cfg, dataset, log: TextWriter.Null);
        var seen = new List<DatasetRecord>();
        for (var b = 0; b < 12; b++)
        {
            using var batch = loader.Next();
            Assert.That(batch, Has.Count.EqualTo(2));
            Assert.That(batch.Select(i => Math.Min(i.Image.shape[1], i.Image.shape[2])), Is.All.EqualTo(8));
            seen.AddRange(batch.Records);
        }

        Assert.That(loader.Seed, Is.EqualTo(5));
        Assert.That(seen, Does.Not.Contain(crowdOnly));
        Assert.That(seen.Distinct().Count(), Is.EqualTo(9), "every other image is sampled");
    }

    [Test]
    public void Test_loader_maps_every_record_once_in_order_without_targets()
    {
        var cfg = DefaultConfig.Create();
        cfg.MergeFromList(["INPUT.MIN_SIZE_TEST", "8", "INPUT.MAX_SIZE_TEST", "20"]);

        var seen = new List<long>();
        foreach (var item in DetectionDataLoaders.BuildTestLoader(cfg, _records))
        {
            using (item)
            {
                Assert.That(item.Input.Instances, Is.Null);
                Assert.That(Math.Min(item.Input.Image.shape[1], item.Input.Image.shape[2]), Is.EqualTo(8));
                Assert.That((item.Input.Height, item.Input.Width), Is.EqualTo(((int?)item.Record.Height, (int?)item.Record.Width)));
                seen.Add(item.Record.ImageId);
            }
        }

        Assert.That(seen, Is.EqualTo(_records.Select(r => r.ImageId)));
    }
}
