using D2.Detection.Data;
using D2.Detection.Data.Loader;

namespace D2.Detection.Tests.DataPipeline;

/// <summary>Detectron2's TrainingSampler, RepeatFactorTrainingSampler and aspect-ratio grouping.</summary>
public class SamplerTests
{
    [Test]
    public void Training_sampler_yields_a_fresh_permutation_every_epoch()
    {
        var indices = new TrainingSampler(20, seed: 5).Take(60).ToArray();

        var epochs = indices.Chunk(20).ToArray();
        foreach (var epoch in epochs) Assert.That(epoch.Order(), Is.EqualTo(Enumerable.Range(0, 20)));
        Assert.That(epochs[0], Is.Not.EqualTo(epochs[1]));
        Assert.That(epochs[1], Is.Not.EqualTo(epochs[2]));
    }

    [Test]
    public void Training_sampler_is_determined_by_its_seed()
    {
        var first = new TrainingSampler(30, seed: 5).Take(90).ToArray();
        var again = new TrainingSampler(30, seed: 5).Take(90).ToArray();
        var other = new TrainingSampler(30, seed: 6).Take(90).ToArray();
        // Detectron2's default SEED -1 is a fixed seed too.
        var defaultSeed = new TrainingSampler(30).Take(30).ToArray();

        Assert.That(again, Is.EqualTo(first));
        Assert.That(other, Is.Not.EqualTo(first));
        Assert.That(new TrainingSampler(30).Take(30), Is.EqualTo(defaultSeed));
    }

    [Test]
    public void Unshuffled_sampler_repeats_the_dataset_in_order()
    {
        Assert.That(new TrainingSampler(3, shuffle: false).Take(7), Is.EqualTo(new[] { 0, 1, 2, 0, 1, 2, 0 }));
    }

    [Test]
    public void Repeat_factors_follow_the_rarest_category_of_each_image()
    {
        DatasetRecord Image(params int[] categories) =>
            new("x.jpg", 10, 10, 0, categories.Select(c => new DatasetAnnotation([0, 0, 1, 1], c)).ToArray());
        var records = new[] { Image(0, 1), Image(0), Image(0, 0), Image(0), Image() };

        var factors = RepeatFactorTrainingSampler.RepeatFactorsFromCategoryFrequency(records, 0.625, sqrt: true);

        // Category 0 is in 4 of 5 images (f = 0.8), category 1 in one (f = 0.2). With t = 0.625:
        // r0 = max(1, sqrt(0.78)) = 1 and r1 = sqrt(3.125); an image takes its largest factor, 1 when it has none.
        Assert.That(factors, Is.EqualTo(new[] { (float)Math.Sqrt(3.125), 1f, 1f, 1f, 1f }).Within(1e-6));
    }

    [Test]
    public void Repeat_factor_sampler_repeats_by_stochastic_rounding_and_is_seeded()
    {
        var sampler = new RepeatFactorTrainingSampler([2.5f, 1f, 1f], seed: 3);

        var stream = sampler.Take(400).ToArray();
        var again = new RepeatFactorTrainingSampler([2.5f, 1f, 1f], seed: 3).Take(400).ToArray();

        Assert.That(again, Is.EqualTo(stream));
        // Each epoch has index 0 two or three times and the others once: about 2.5 / 4.5 of the stream.
        var share = stream.Count(i => i == 0) / 400.0;
        Assert.That(share, Is.InRange(0.47, 0.64));
    }

    [Test]
    public void Grouping_emits_a_bucket_as_soon_as_it_is_full()
    {
        var grouping = new AspectRatioGrouping<string>(2);

        Assert.That(grouping.Add("L0", 30, 20), Is.Null);
        Assert.That(grouping.Add("P1", 20, 30), Is.Null);
        Assert.That(grouping.Add("S2", 20, 20), Is.EqualTo(new[] { "P1", "S2" })); // square goes with portrait, as Detectron2
        Assert.That(grouping.Add("L3", 31, 30), Is.EqualTo(new[] { "L0", "L3" }));
        Assert.That(grouping.Add("L4", 50, 10), Is.Null);
        Assert.That(grouping.Drain(), Is.EqualTo(new[] { "L4" }));
    }

    [Test]
    public void Grouped_batches_are_all_landscape_or_all_portrait()
    {
        var random = new Random(8);
        var grouping = new AspectRatioGrouping<(int W, int H)>(4);
        var batches = new List<IReadOnlyList<(int W, int H)>>();
        for (var i = 0; i < 500; i++)
        {
            var size = (random.Next(10, 100), random.Next(10, 100));
            if (grouping.Add(size, size.Item1, size.Item2) is { } batch) batches.Add(batch);
        }

        Assert.That(batches, Has.Count.GreaterThan(100));
        foreach (var batch in batches)
        {
            Assert.That(batch, Has.Count.EqualTo(4));
            Assert.That(batch.Select(s => s.W > s.H).Distinct().Count(), Is.EqualTo(1));
        }
    }
}
