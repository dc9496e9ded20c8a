using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

/// <summary>The opt-in stage timer behind the peer benchmark's breakdown.</summary>
public class StageProfileTests
{
    [Test]
    public void Inference_and_training_report_every_stage_within_the_wall_time()
    {
        manual_seed(3);
        using var model = ModelBuilder.Build(GeneralizedRCNNTests.TinyConfig());
        var input = GeneralizedRCNNTests.SyntheticImage();
        model.eval();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyDictionary<string, double> seconds;
        using (var profile = StageProfile.Start())
        {
            using var scope = NewDisposeScope();
            model.Inference([input]);
            seconds = new Dictionary<string, double>(profile.Seconds);
        }
        var wall = clock.Elapsed.TotalSeconds;
        Assert.That(seconds.Keys, Is.SupersetOf(new[] { "preprocess", "backbone", "fpn", "rpn", "box_head", "mask_head", "postprocess",
            "rpn.head", "rpn.proposals", "box_head.pooler", "box_head.layers", "box_head.inference", "mask_head.pooler", "mask_head.layers" }));
        Assert.That(seconds.Values, Has.All.GreaterThanOrEqualTo(0.0));
        // Stages do not overlap: their sum fits in the call; parts fit in their stage.
        Assert.That(seconds.Where(p => !p.Key.Contains('.')).Sum(p => p.Value), Is.LessThanOrEqualTo(wall));
        Assert.That(seconds["box_head.pooler"] + seconds["box_head.layers"] + seconds["box_head.inference"], Is.LessThanOrEqualTo(seconds["box_head"]));

        model.train();
        using (var profile = StageProfile.Start())
        {
            using var scope = NewDisposeScope();
            model.ForwardTraining([input]);
            Assert.That(profile.Seconds.Keys, Is.SupersetOf(new[] { "preprocess", "backbone", "fpn", "rpn", "box_head", "mask_head" }));
        }
    }

    [Test]
    public void Without_a_profile_nothing_is_recorded_and_nested_profiles_restore_the_outer_one()
    {
        using (StageProfile.Measure("ignored"))
            StageProfile.Add("ignored", 1.0);
        using var outer = StageProfile.Start();
        using (var inner = StageProfile.Start())
        {
            StageProfile.Add("backward", 0.5);
            Assert.That(inner.Seconds["backward"], Is.EqualTo(0.5));
        }
        StageProfile.Add("optimizer", 0.25);
        using (StageProfile.Measure("rpn"))
        {
        }
        Assert.That(outer.Seconds.Keys, Is.EquivalentTo(new[] { "optimizer", "rpn" }));
        Assert.That(outer.Seconds.ContainsKey("ignored"), Is.False);
    }
}
