using D2.Detection.Config;
using D2.Detection.Solver;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Solver;

/// <summary>The three clip types against hand-computed gradients: a = (3, 4) (norm 5), b = (0.5, -2) (norm sqrt 4.25).</summary>
public class GradientClipperTests
{
    static (Parameter A, Parameter B, Parameter NoGradient) Parameters()
    {
        var a = new Parameter(zeros(2));
        var b = new Parameter(zeros(2));
        a.grad = tensor(new[] { 3f, 4f });
        b.grad = tensor(new[] { 0.5f, -2f });
        return (a, b, new Parameter(zeros(3)));
    }

    static float[] Gradient(Parameter p) => p.grad!.data<float>().ToArray();

    [Test]
    public void Value_clamps_every_element()
    {
        var (a, b, none) = Parameters();
        new GradientClipper(GradientClipType.Value, 1.0).Clip([a, b, none]);
        Assert.That(Gradient(a), Is.EqualTo(new[] { 1f, 1f }));
        Assert.That(Gradient(b), Is.EqualTo(new[] { 0.5f, -1f }));
        Assert.That(none.grad, Is.Null);
    }

    [Test]
    public void Norm_rescales_each_parameter_separately()
    {
        var (a, b, none) = Parameters();
        new GradientClipper(GradientClipType.Norm, 1.0, 2.0).Clip([a, b, none]);
        // torch's clip_grad_norm_: factor max_norm / (norm + 1e-6) when below 1.
        var fa = 1.0 / (5.0 + 1e-6);
        var fb = 1.0 / (Math.Sqrt(4.25) + 1e-6);
        Assert.That(Gradient(a), Is.EqualTo(new[] { (float)(3 * fa), (float)(4 * fa) }).Within(1e-6f));
        Assert.That(Gradient(b), Is.EqualTo(new[] { (float)(0.5 * fb), (float)(-2 * fb) }).Within(1e-6f));
    }

    [Test]
    public void Norm_leaves_gradients_under_the_bound_alone()
    {
        var (a, b, _) = Parameters();
        new GradientClipper(GradientClipType.Norm, 4.5).Clip([a, b]);
        Assert.That(Gradient(a)[0], Is.LessThan(3f), "norm 5 > 4.5 is rescaled");
        Assert.That(Gradient(b), Is.EqualTo(new[] { 0.5f, -2f }), "norm 2.06 < 4.5 is kept");
    }

    [Test]
    public void Full_model_rescales_all_gradients_by_one_global_norm()
    {
        var (a, b, none) = Parameters();
        new GradientClipper(GradientClipType.FullModel, 1.0).Clip([a, b, none]);
        var factor = 1.0 / (Math.Sqrt(25 + 4.25) + 1e-6);
        Assert.That(Gradient(a), Is.EqualTo(new[] { (float)(3 * factor), (float)(4 * factor) }).Within(1e-6f));
        Assert.That(Gradient(b), Is.EqualTo(new[] { (float)(0.5 * factor), (float)(-2 * factor) }).Within(1e-6f));
    }

    [Test]
    public void Config_turns_clipping_on_with_its_type_value_and_norm()
    {
        var cfg = ModelZoo.GetConfig("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml");
        var clipper = GradientClipper.FromConfig(cfg);
        Assert.That(clipper, Is.Not.Null);
        Assert.That((clipper!.Type, clipper.ClipValue, clipper.NormType), Is.EqualTo((GradientClipType.FullModel, 10.0, 2.0)));
        cfg.Set("SOLVER.CLIP_GRADIENTS.ENABLED", false);
        Assert.That(GradientClipper.FromConfig(cfg), Is.Null);
        cfg.Set("SOLVER.CLIP_GRADIENTS.ENABLED", true);
        cfg.Set("SOLVER.CLIP_GRADIENTS.CLIP_TYPE", "agc");
        Assert.That(() => GradientClipper.FromConfig(cfg), Throws.ArgumentException.With.Message.Contains("'agc'"));
    }
}
