using D2.Detection.Modeling.ROIHeads;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.ROIHeads;

public class MaskRCNNInferenceTests
{
    static Instances Detections(params long[] classes)
    {
        var instances = new Instances((20, 30));
        instances.Set("pred_classes", tensor(classes, [classes.Length]));
        return instances;
    }

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Test]
    public void Pred_masks_are_the_sigmoid_of_each_detections_class_split_by_image()
    {
        using var scope = NewDisposeScope();
        const int k = 3, m = 2;
        var values = Enumerable.Range(0, 3 * k * m * m).Select(i => (float)(Math.Sin(i) * 4)).ToArray();
        var logits = tensor(values, [3, k, m, m]);
        var images = new[] { Detections(1, 0), Detections(), Detections(2) };

        MaskRCNNInference.Apply(logits, images);

        // Detection j of the batch (image order) takes channel pred_classes[j].
        (int Image, int Row, int Detection, int Class)[] expected = [(0, 0, 0, 1), (0, 1, 1, 0), (2, 0, 2, 2)];
        Assert.That(images[1].Get<Tensor>("pred_masks").shape, Is.EqualTo(new long[] { 0, 1, m, m }));
        foreach (var (image, row, detection, cls) in expected)
        {
            var masks = images[image].Get<Tensor>("pred_masks");
            Assert.That(masks.shape, Is.EqualTo(new long[] { images[image].Length, 1, m, m }));
            for (var y = 0; y < m; y++)
                for (var x = 0; x < m; x++)
                {
                    var logit = values[((detection * k + cls) * m + y) * m + x];
                    Assert.That(masks[row, 0, y, x].item<float>(), Is.EqualTo(Sigmoid(logit)).Within(1e-6));
                }
        }
    }

    [Test]
    public void Class_agnostic_logits_give_the_sigmoid_of_their_single_channel()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { -2, 0, 1, 3, 0.5f, -0.5f, 4, -4 }, [2, 1, 2, 2]);
        var images = new[] { Detections(7), Detections(5) };

        MaskRCNNInference.Apply(logits, images);

        Assert.That(images[0].Get<Tensor>("pred_masks")[0, 0, 1, 1].item<float>(), Is.EqualTo(Sigmoid(3)).Within(1e-6));
        Assert.That(images[1].Get<Tensor>("pred_masks")[0, 0, 0, 1].item<float>(), Is.EqualTo(Sigmoid(-0.5)).Within(1e-6));
    }

    [Test]
    public void A_logit_count_that_differs_from_the_detections_is_rejected()
    {
        using var scope = NewDisposeScope();
        Assert.That(() => MaskRCNNInference.Apply(zeros(2, 3, 2, 2), [Detections(1)]),
            Throws.ArgumentException.With.Message.Contains("1 detections"));
    }
}
