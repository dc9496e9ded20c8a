using D2.Detection.Evaluation;

namespace D2.Detection.Tests.Evaluation;

public class CocoEvalParamsTests
{
    [Test]
    public void Iou_thresholds_have_numpy_linspace_values()
    {
        // repr(float(x)) of np.linspace(.5, 0.95, 10) on numpy 1.24: the ninth is not 0.9.
        double[] numpy = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95];
        var parameters = new CocoEvalParams(CocoIouType.Bbox, [], []);

        Assert.That(parameters.IouThresholds, Is.EqualTo(numpy));
        Assert.That(parameters.RecallThresholds, Has.Count.EqualTo(101));
        Assert.That(parameters.RecallThresholds[29], Is.EqualTo(0.29));
        Assert.That(parameters.RecallThresholds[100], Is.EqualTo(1.0));
    }

    [Test]
    public void Image_and_category_ids_are_sorted_and_distinct()
    {
        var parameters = new CocoEvalParams(CocoIouType.Segm, [9, 2, 9, 4], [90, 1, 3]);

        Assert.That(parameters.ImageIds, Is.EqualTo(new long[] { 2, 4, 9 }));
        Assert.That(parameters.CategoryIds, Is.EqualTo(new long[] { 1, 3, 90 }));
    }

    [TestCase(0.0625, "0.062")] // an exact tie: Python rounds half to even
    [TestCase(0.1875, "0.188")]
    [TestCase(0.12345, "0.123")]
    [TestCase(-1, "-1.000")]
    public void Summary_values_print_as_python_does(double value, string expected) =>
        Assert.That(NumpyCompat.Fixed3(value), Is.EqualTo(expected));

    [Test]
    public void Summary_lines_have_pycocotools_layout()
    {
        var evaluation = new CocoCase().Image(1).Category(1)
            .Truth(1, 1, CocoCase.Box(0, 0, 10, 10)).Detection(1, 1, CocoCase.Box(0, 0, 10, 10), 1).Evaluate();

        Assert.That(evaluation.SummaryLines[0], Is.EqualTo(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000"));
        Assert.That(evaluation.SummaryLines[1], Is.EqualTo(" Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 1.000"));
        Assert.That(evaluation.SummaryLines[4], Is.EqualTo(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000"));
        Assert.That(evaluation.SummaryLines[6], Is.EqualTo(" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 1.000"));
    }
}
