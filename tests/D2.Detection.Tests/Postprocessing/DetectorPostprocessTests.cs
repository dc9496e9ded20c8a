using D2.Detection.Structures;
using static TorchSharp.torch;
using D2Postprocessing = D2.Detection.Modeling.Postprocessing;

namespace D2.Detection.Tests.Postprocessing;

public class DetectorPostprocessTests
{
    /// <summary>
    /// Network input 40 wide x 20 high, output 20 wide x 40 high: scale_x = 0.5, scale_y = 2.
    /// (4, 2, 20, 8) -> (2, 4, 10, 16); (30, 5, 50, 10) -> (15, 10, 25, 20), clipped to (15, 10, 20, 20);
    /// (44, 0, 48, 4) -> (22, 0, 24, 8), clipped to (20, 0, 20, 8): empty, so it is dropped with its fields.
    /// </summary>
    static Instances HandResults()
    {
        var results = new Instances((20, 40));
        results.Set("pred_boxes", new Boxes(tensor(new float[] { 4, 2, 20, 8, 30, 5, 50, 10, 44, 0, 48, 4 }, [3, 4])));
        results.Set("scores", tensor(new float[] { 0.9f, 0.8f, 0.7f }));
        results.Set("pred_classes", tensor(new long[] { 3, 1, 2 }));
        results.Set("pred_masks", ones(3, 1, 2, 2));
        return results;
    }

    [Test]
    public void Boxes_are_scaled_to_the_output_size_clipped_and_empty_ones_dropped()
    {
        using var scope = NewDisposeScope();
        var output = D2Postprocessing.DetectorPostprocess(HandResults(), 40, 20);

        Assert.That(output.ImageSize, Is.EqualTo((40, 20)));
        Assert.That(output.Get<Boxes>("pred_boxes").Tensor.data<float>().ToArray(), Is.EqualTo(new float[] { 2, 4, 10, 16, 15, 10, 20, 20 }));
        Assert.That(output.Get<Tensor>("scores").data<float>().ToArray(), Is.EqualTo(new[] { 0.9f, 0.8f }));
        Assert.That(output.Get<Tensor>("pred_classes").data<long>().ToArray(), Is.EqualTo(new long[] { 3, 1 }));
    }

    [Test]
    public void Soft_masks_are_pasted_into_full_size_boolean_masks_of_the_kept_boxes()
    {
        using var scope = NewDisposeScope();
        var output = D2Postprocessing.DetectorPostprocess(HandResults(), 40, 20);

        // The kept boxes in output pixels, pasted by the float64 reference.
        var ones2x2 = new double[,] { { 1, 1 }, { 1, 1 } };
        var expected = new[] { (2.0, 4.0, 10.0, 16.0), (15.0, 10.0, 20.0, 20.0) }
            .SelectMany(b => PasteMaskReference.Sample(ones2x2, b.Item1, b.Item2, b.Item3, b.Item4, 40, 20).Cast<double>())
            .Select(v => v >= 0.5).ToArray();
        var masks = output.Get<Tensor>("pred_masks");
        Assert.That(masks.dtype, Is.EqualTo(ScalarType.Bool));
        Assert.That(masks.shape, Is.EqualTo(new long[] { 2, 40, 20 }));
        Assert.That(masks.data<bool>().ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void The_input_instances_are_left_untouched()
    {
        using var scope = NewDisposeScope();
        var results = HandResults();
        var output = D2Postprocessing.DetectorPostprocess(results, 40, 20);
        output.Dispose();

        Assert.That(results.ImageSize, Is.EqualTo((20, 40)));
        Assert.That(results.Length, Is.EqualTo(3));
        Assert.That(results.Get<Boxes>("pred_boxes").Tensor.data<float>().ToArray(),
            Is.EqualTo(new float[] { 4, 2, 20, 8, 30, 5, 50, 10, 44, 0, 48, 4 }));
        Assert.That(results.Get<Tensor>("pred_masks").shape, Is.EqualTo(new long[] { 3, 1, 2, 2 }));
    }

    [Test]
    public void Proposals_without_pred_boxes_are_scaled_too()
    {
        using var scope = NewDisposeScope();
        var proposals = new Instances((10, 10));
        proposals.Set("proposal_boxes", new Boxes(tensor(new float[] { 1, 2, 3, 4 }, [1, 4])));
        proposals.Set("objectness_logits", tensor(new float[] { 5 }));
        var output = D2Postprocessing.DetectorPostprocess(proposals, 30, 20);
        Assert.That(output.Get<Boxes>("proposal_boxes").Tensor.data<float>().ToArray(), Is.EqualTo(new float[] { 2, 6, 6, 12 }));
        Assert.That(output.Get<Tensor>("objectness_logits").data<float>().ToArray(), Is.EqualTo(new[] { 5f }));
    }

    [Test]
    public void Results_without_boxes_are_rejected()
    {
        using var results = new Instances((10, 10));
        results.Set("scores", tensor(new float[] { 0.5f }));
        Assert.That(() => D2Postprocessing.DetectorPostprocess(results, 10, 10),
            Throws.ArgumentException.With.Message.Contains("pred_boxes"));
    }
}
