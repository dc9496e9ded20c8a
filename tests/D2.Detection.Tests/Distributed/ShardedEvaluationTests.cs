using System.Net;
using D2.Detection.Data;
using D2.Detection.Data.Loader;
using D2.Detection.Distributed;
using D2.Detection.Evaluation;
using D2.Detection.Structures;
using D2.Detection.Tests.Inference;

namespace D2.Detection.Tests.Distributed;

/// <summary>Detectron2's distributed evaluation: InferenceSampler shards, predictions gathered to rank 0, which alone evaluates.</summary>
[CancelAfter(60_000)]
public class ShardedEvaluationTests
{
    [TestCase(10, 3, new[] { 0, 4, 7, 10 })]
    [TestCase(3, 2, new[] { 0, 2, 3 })]
    [TestCase(1, 2, new[] { 0, 1, 1 })]
    public void Shards_are_contiguous_cover_every_image_once_and_differ_by_at_most_one(int total, int world, int[] bounds)
    {
        for (var rank = 0; rank < world; rank++)
            Assert.That(InferenceSampler.LocalRange(total, rank, world), Is.EqualTo((bounds[rank], bounds[rank + 1])), $"rank {rank}");
    }

    static readonly (long ImageId, int Class, float[] Box)[] Objects =
    [
        (11, 0, [5, 5, 25, 30]), (11, 1, [30, 10, 45, 35]), (12, 1, [10, 10, 40, 20]), (13, 0, [0, 0, 20, 20]),
    ];

    static DatasetRecord Record(long id) => new($"/data/{id}.png", 40, 50, id,
        [.. Objects.Where(o => o.ImageId == id).Select(o => new DatasetAnnotation([.. o.Box.Select(v => (double)v)], o.Class))]);

    static Instances Perfect(long id)
    {
        var objects = Objects.Where(o => o.ImageId == id).ToArray();
        return InferenceFixtures.Predictions(40, 50, [.. objects.Select(o => o.Box)], [.. objects.Select(_ => 0.9f)], [.. objects.Select(o => (long)o.Class)]);
    }

    [Test]
    public void Two_ranks_evaluate_their_shards_and_rank_0_reports_what_one_process_reports()
    {
        var metadata = new DatasetMetadata("shapes_val", ["cat", "dog"], new Dictionary<int, int> { [3] = 0, [7] = 1 }, null);
        DatasetRecord[] all = [Record(11), Record(12), Record(13)];
        var directory = InferenceFixtures.TemporaryDirectory();
        try
        {
            var single = new DatasetEvaluation(metadata, Path.Combine(directory, "single"), _ => { });
            foreach (var record in all)
            {
                using var p = Perfect(record.ImageId);
                single.Process(record, p);
            }
            var expected = single.Evaluate();

            using var server = new TcpStoreServer(IPAddress.Loopback, 0);
            var ranks = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
            {
                using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(10));
                using var group = GlooProcessGroup.Create(store, rank, 2, TimeSpan.FromSeconds(20));
                var evaluation = new DatasetEvaluation(metadata, Path.Combine(directory, $"rank{rank}"), _ => { });
                foreach (var record in InferenceSampler.Shard(all, rank, 2))
                {
                    using var p = Perfect(record.ImageId);
                    evaluation.Process(record, p);
                }
                var main = evaluation.GatherToMainProcess(new DistributedInference(group, all));
                return (Main: main, Images: evaluation.ProcessedImages, Results: main ? evaluation.Evaluate() : null);
            }, TaskCreationOptions.LongRunning)).ToArray();
            Assert.That(Task.WaitAll(ranks, TimeSpan.FromSeconds(40)), Is.True);
            Assert.That(ranks.Select(r => (r.Result.Main, r.Result.Images)), Is.EqualTo(new[] { (true, 3), (false, 0) }));
            var results = ranks[0].Result.Results!;
            Assert.That(results["bbox"]["AP"], Is.EqualTo(100.0).Within(1e-9));
            Assert.That(results["bbox"], Is.EqualTo(expected["bbox"]));
            Assert.That(File.ReadAllText(Path.Combine(directory, "rank0", CocoResultsWriter.FileName)),
                Is.EqualTo(File.ReadAllText(Path.Combine(directory, "single", CocoResultsWriter.FileName))), "the same results file, in the dataset's order");
            Assert.That(Directory.Exists(Path.Combine(directory, "rank1")), Is.False, "rank 1 writes nothing");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
