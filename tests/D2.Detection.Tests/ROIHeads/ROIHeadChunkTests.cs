using D2.Detection.Modeling;
using D2.Detection.Modeling.ROIHeads;
using D2.Detection.Structures;
using D2.Detection.Tests.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Tests.ROIHeads;

/// <summary>
/// On the CPU the box and mask heads run image by image, in chunks of ROIs (a batch's whole mask head at once made
/// activations that glibc maps and faults in afresh on every pass): a batch still gives each image what it gets alone,
/// and the chunk size changes no result beyond float rounding.
/// </summary>
public class ROIHeadChunkTests
{
    // The serving bound for batched against one-by-one answers (README, serving section): the backbone's convolutions round
    // differently for a batch of 2 than for 1; the mask head itself now sees the same shapes either way.
    const double BatchTolerance = 1e-3;

    static GeneralizedRCNN Model()
    {
        manual_seed(3);
        var model = ModelBuilder.Build(GeneralizedRCNNTests.TinyConfig("MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0"));
        model.eval();
        return model;
    }

    /// <summary>Two images of one size with different content: the synthetic one and its mirror image.</summary>
    static List<ModelInput> TwoImages()
    {
        var first = GeneralizedRCNNTests.SyntheticImage() with { Instances = null };
        return [first, first with { Image = first.Image.flip(2) }];
    }

    static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();

    static double MaxDifference(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape)
        ? (a.numel() == 0 ? 0 : (a - b).abs().max().item<float>())
        : double.PositiveInfinity;

    [Test]
    public void A_batch_gives_each_image_the_detections_and_masks_it_gets_alone()
    {
        using var model = Model();
        using var scope = NewDisposeScope();
        var inputs = TwoImages();
        var batched = model.Inference(inputs, doPostprocess: false);
        for (var i = 0; i < inputs.Count; i++)
        {
            var alone = model.Inference([inputs[i]], doPostprocess: false)[0];
            Assert.That(alone.Length, Is.GreaterThan(7), "a score threshold of 0 keeps many detections");
            Assert.That(batched[i].Length, Is.EqualTo(alone.Length), $"image {i}: instance count");
            Assert.That(batched[i].Get<Tensor>("pred_classes").data<long>().ToArray(), Is.EqualTo(alone.Get<Tensor>("pred_classes").data<long>().ToArray()));
            Assert.That(MaxDifference(batched[i].Get<Tensor>("scores"), alone.Get<Tensor>("scores")), Is.LessThanOrEqualTo(BatchTolerance), $"image {i}: scores");
            Assert.That(MaxDifference(batched[i].Get<Boxes>("pred_boxes").Tensor, alone.Get<Boxes>("pred_boxes").Tensor), Is.LessThanOrEqualTo(BatchTolerance), $"image {i}: boxes");
            var masks = batched[i].Get<Tensor>("pred_masks");
            Assert.That(masks.shape, Is.EqualTo(new[] { alone.Length, 1L, 28L, 28L }));
            Assert.That(MaxDifference(masks, alone.Get<Tensor>("pred_masks")), Is.LessThanOrEqualTo(BatchTolerance), $"image {i}: soft masks");
        }
        Assert.That(MaxDifference(batched[0].Get<Tensor>("pred_masks"), batched[1].Get<Tensor>("pred_masks")), Is.GreaterThan(0),
            "the two images' masks differ (each image's ROIs pooled from its own features)");
    }

    [Test]
    public void Chunks_of_ROIs_give_the_masks_of_one_pass()
    {
        using var model = Model();
        using var scope = NewDisposeScope();
        var heads = (StandardROIHeads)model.ROIHeads;
        var inputs = TwoImages();
        heads.MaskChunkRows = int.MaxValue;
        var whole = model.Inference(inputs, doPostprocess: false);
        heads.MaskChunkRows = 7; // 100 detections: 15 chunks per image, the last one short
        var chunked = model.Inference(inputs, doPostprocess: false);
        for (var i = 0; i < inputs.Count; i++)
        {
            Assert.That(chunked[i].Length, Is.EqualTo(whole[i].Length));
            // The box head is not chunked: the same boxes to the bit, so the masks differ only by the convolutions' rounding.
            Assert.That(Floats(chunked[i].Get<Boxes>("pred_boxes").Tensor), Is.EqualTo(Floats(whole[i].Get<Boxes>("pred_boxes").Tensor)));
            Assert.That(MaxDifference(chunked[i].Get<Tensor>("pred_masks"), whole[i].Get<Tensor>("pred_masks")), Is.LessThanOrEqualTo(1e-5), $"image {i}: soft masks");
        }
    }

    [Test]
    public void Chunks_of_proposals_give_the_detections_of_one_pass()
    {
        using var model = Model();
        using var scope = NewDisposeScope();
        var heads = (StandardROIHeads)model.ROIHeads;
        var inputs = TwoImages();
        heads.BoxChunkRows = int.MaxValue;
        var whole = model.Inference(inputs, doPostprocess: false);
        heads.BoxChunkRows = 13; // 300 proposals per image: 24 chunks, the last one short
        var chunked = model.Inference(inputs, doPostprocess: false);
        for (var i = 0; i < inputs.Count; i++)
        {
            Assert.That(chunked[i].Length, Is.EqualTo(whole[i].Length), $"image {i}: instance count");
            Assert.That(chunked[i].Get<Tensor>("pred_classes").data<long>().ToArray(), Is.EqualTo(whole[i].Get<Tensor>("pred_classes").data<long>().ToArray()));
            Assert.That(MaxDifference(chunked[i].Get<Tensor>("scores"), whole[i].Get<Tensor>("scores")), Is.LessThanOrEqualTo(1e-5), $"image {i}: scores");
            Assert.That(MaxDifference(chunked[i].Get<Boxes>("pred_boxes").Tensor, whole[i].Get<Boxes>("pred_boxes").Tensor), Is.LessThanOrEqualTo(1e-4), $"image {i}: boxes");
        }
    }
}
