using D2.Detection.Config;
using D2.Detection.Layers;
using D2.Detection.Solver;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Solver;

/// <summary>Detectron2's param-group rules (spec §18.1) on a small model with a conv, GroupNorm, FrozenBN, a frozen and a shared layer.</summary>
public class OptimizerBuilderTests
{
    /// <summary>conv (weight, bias) -> gn (GroupNorm) -> frozen_bn (buffers only) -> head; "frozen" has requires_grad false; "tied" is head again.</summary>
    sealed class SmallNet : nn.Module
    {
        public SmallNet() : base(nameof(SmallNet))
        {
            var head = nn.Linear(4, 2);
            var frozen = nn.Linear(2, 2);
            foreach (var p in frozen.parameters())
                p.requires_grad = false;
            register_module("conv", nn.Conv2d(3, 4, 3));
            register_module("gn", nn.GroupNorm(2, 4));
            register_module("frozen_bn", new FrozenBatchNorm2d(4));
            register_module("head", head);
            register_module("frozen", frozen);
            register_module("tied", head);
        }
    }

    static CfgNode Solver(params string[] opts) => ModelZoo.GetConfig("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
        ["SOLVER.BASE_LR", "0.02", "SOLVER.WEIGHT_DECAY", "0.0001", "SOLVER.MOMENTUM", "0.9", .. opts]);

    static IEnumerable<(double Lr, double WeightDecay, string[] Names)> Describe(IReadOnlyList<OptimizerParamGroup> groups) =>
        groups.Select(g => (g.LearningRate, g.WeightDecay, g.Names.ToArray()));

    [Test]
    public void Default_rules_give_norm_parameters_WEIGHT_DECAY_NORM_and_everything_else_WEIGHT_DECAY()
    {
        using var model = new SmallNet();
        var groups = OptimizerBuilder.GetDefaultOptimizerParams(model, 0.02, 1e-4, weightDecayNorm: 0.0);
        Assert.That(Describe(groups), Is.EqualTo(new[]
        {
            (0.02, 1e-4, new[] { "conv.weight", "conv.bias", "head.weight", "head.bias" }),
            (0.02, 0.0, new[] { "gn.weight", "gn.bias" }),
        }));
    }

    [Test]
    public void Bias_overrides_apply_after_the_norm_rule()
    {
        using var model = new SmallNet();
        var groups = OptimizerBuilder.GetDefaultOptimizerParams(model, 0.02, 1e-4, weightDecayNorm: 0.0, biasLrFactor: 2.0, weightDecayBias: 1e-3);
        Assert.That(Describe(groups), Is.EqualTo(new[]
        {
            (0.02, 1e-4, new[] { "conv.weight", "head.weight" }),
            (0.04, 1e-3, new[] { "conv.bias", "gn.bias", "head.bias" }),
            (0.02, 0.0, new[] { "gn.weight" }),
        }));
    }

    [Test]
    public void Frozen_parameters_are_left_out_and_shared_ones_appear_once()
    {
        using var model = new SmallNet();
        var parameters = OptimizerBuilder.GetDefaultOptimizerParams(model, 0.02, 1e-4, 0.0).SelectMany(g => g.Parameters).ToList();
        Assert.That(parameters, Has.Count.EqualTo(6));
        Assert.That(parameters.Select(p => p.Handle).Distinct().Count(), Is.EqualTo(6));
        Assert.That(parameters.All(p => p.requires_grad), Is.True);
    }

    [Test]
    public void BuildSgd_reads_SOLVER_keys_into_torch_param_groups()
    {
        using var model = new SmallNet();
        using var optimizer = OptimizerBuilder.BuildSgd(Solver("SOLVER.BIAS_LR_FACTOR", "2.0", "SOLVER.NESTEROV", "True"), model);
        var groups = optimizer.ParamGroups.Cast<SGD.ParamGroup>().ToList();
        // WEIGHT_DECAY_BIAS None: biases keep the decay their module gives them (norm biases 0).
        Assert.That(groups.Select(g => (g.LearningRate, g.Options.weight_decay, g.Parameters.Count())), Is.EqualTo(new (double, double?, int)[]
        {
            (0.02, 1e-4, 2), (0.04, 1e-4, 2), (0.02, 0.0, 1), (0.04, 0.0, 1),
        }));
        Assert.That(groups.Select(g => (g.Options.momentum, g.Options.nesterov, g.Options.dampening)), Has.All.EqualTo((0.9, true, 0.0)));
    }

    [Test]
    public void Sgd_step_adds_weight_decay_to_the_gradient_before_momentum()
    {
        // torch SGD (spec §18.1): v <- mu v + (g + wd p); p <- p - lr v, with v = g + wd p on the first step.
        var weight = new Parameter(tensor(new[] { 1.0f, -2.0f }));
        var groups = new[] { new OptimizerParamGroup(["w"], [weight], 0.1, 0.01) };
        using var optimizer = OptimizerBuilder.BuildSgd(groups, 0.1, momentum: 0.9, nesterov: false, weightDecay: 0.5);
        float[] gradient = [0.5f, 0.25f];
        double[] p = [1.0, -2.0], v = [0, 0];
        for (var step = 0; step < 2; step++)
        {
            weight.grad = tensor(gradient);
            optimizer.step();
            for (var i = 0; i < 2; i++)
            {
                var d = gradient[i] + 0.01 * p[i];
                v[i] = step == 0 ? d : 0.9 * v[i] + d;
                p[i] -= 0.1 * v[i];
            }
        }
        Assert.That(weight.data<float>().ToArray(), Is.EqualTo(p.Select(x => (float)x).ToArray()).Within(1e-6f));
    }

    [Test]
    public void A_model_without_trainable_parameters_is_rejected()
    {
        using var frozen = nn.Linear(2, 2);
        foreach (var p in frozen.parameters())
            p.requires_grad = false;
        Assert.That(() => OptimizerBuilder.BuildSgd(Solver(), frozen), Throws.ArgumentException.With.Message.Contains("no trainable parameters"));
    }
}
