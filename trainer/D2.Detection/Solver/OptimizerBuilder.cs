using D2.Detection.Config;
using D2.Detection.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>
/// Detectron2's <c>build_optimizer</c>: SGD with momentum over every trainable parameter once, grouped by learning rate
/// and weight decay (<c>get_default_optimizer_params</c> + <c>reduce_param_groups</c>). Gradient clipping is applied by
/// the training loop (<see cref="GradientClipper"/>) right before each step, where Detectron2's wrapped step does it.
/// </summary>
public static class OptimizerBuilder
{
    /// <summary>The SGD optimizer SOLVER.* describes, over <paramref name="model"/>'s trainable parameters.</summary>
    public static SGD BuildSgd(CfgNode cfg, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var baseLr = cfg.Get<double>("SOLVER.BASE_LR");
        var weightDecay = cfg.Get<double>("SOLVER.WEIGHT_DECAY");
        var groups = GetDefaultOptimizerParams(model, baseLr, weightDecay,
            weightDecayNorm: cfg.Get<double?>("SOLVER.WEIGHT_DECAY_NORM"),
            biasLrFactor: cfg.Get<double>("SOLVER.BIAS_LR_FACTOR"),
            weightDecayBias: cfg.Get<double?>("SOLVER.WEIGHT_DECAY_BIAS"));
        return BuildSgd(groups, baseLr, cfg.Get<double>("SOLVER.MOMENTUM"), cfg.Get<bool>("SOLVER.NESTEROV"), weightDecay);
    }

    /// <summary>torch's SGD over the given groups (dampening 0, as Detectron2 leaves it), its Scalars held (<see cref="ScalarSafeSGD"/>).</summary>
    public static SGD BuildSgd(IReadOnlyList<OptimizerParamGroup> groups, double baseLr, double momentum, bool nesterov, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Count == 0)
            throw new ArgumentException("The model has no trainable parameters (all have requires_grad false), so there is nothing to optimize.", nameof(groups));
        if (nesterov && momentum <= 0)
            throw new ArgumentException($"SOLVER.NESTEROV needs a positive SOLVER.MOMENTUM; got {momentum}.");
        var sgdGroups = groups.Select(g => new SGD.ParamGroup(g.Parameters, lr: g.LearningRate, momentum: momentum, dampening: 0,
            weight_decay: g.WeightDecay, nesterov: nesterov)).ToList();
        return new ScalarSafeSGD(sgdGroups, baseLr, momentum: momentum, dampening: 0, weightDecay: weightDecay, nesterov: nesterov);
    }

    /// <summary>
    /// Detectron2's <c>get_default_optimizer_params</c> as <c>build_optimizer</c> calls it: each trainable parameter once
    /// (modules visited depth-first from the root, as torch's <c>named_modules</c>), weight decay
    /// <paramref name="weightDecayNorm"/> for parameters of normalisation modules, then the bias overrides (lr x
    /// <paramref name="biasLrFactor"/>, <paramref name="weightDecayBias"/>) for parameters named "bias"; groups merged
    /// by equal (lr, weight decay) in order of first appearance.
    /// </summary>
    /// <param name="weightDecayNorm">SOLVER.WEIGHT_DECAY_NORM; null leaves norm parameters at <paramref name="weightDecay"/></param>
    /// <param name="weightDecayBias">SOLVER.WEIGHT_DECAY_BIAS; null (Detectron2's default) means <paramref name="weightDecay"/></param>
    public static IReadOnlyList<OptimizerParamGroup> GetDefaultOptimizerParams(nn.Module model, double baseLr, double weightDecay,
        double? weightDecayNorm, double biasLrFactor = 1.0, double? weightDecayBias = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var seen = new HashSet<IntPtr>();
        var groups = new List<(double Lr, double WeightDecay, List<string> Names, List<Parameter> Parameters)>();
        foreach (var (moduleName, module) in ModulesDepthFirst(model))
        {
            foreach (var (localName, parameter) in module.named_parameters(recurse: false))
            {
                if (!parameter.requires_grad || !seen.Add(parameter.Handle))
                    continue;
                var lr = baseLr;
                var decay = IsNormModule(module) && weightDecayNorm is { } normDecay ? normDecay : weightDecay;
                // Detectron2's "bias" override matches the parameter's own name, after the norm rule (so it wins).
                if (localName == "bias")
                {
                    lr = baseLr * biasLrFactor;
                    decay = weightDecayBias ?? decay;
                }
                var index = groups.FindIndex(g => g.Lr == lr && g.WeightDecay == decay);
                if (index < 0)
                {
                    groups.Add((lr, decay, [], []));
                    index = groups.Count - 1;
                }
                groups[index].Names.Add(moduleName.Length == 0 ? localName : $"{moduleName}.{localName}");
                groups[index].Parameters.Add(parameter);
            }
        }
        return groups.Select(g => new OptimizerParamGroup(g.Names, g.Parameters, g.Lr, g.WeightDecay)).ToList();
    }

    /// <summary>
    /// Detectron2's norm_module_types: BatchNorm1/2/3d (SyncBN maps to BatchNorm2d here), GroupNorm, InstanceNorm1/2/3d,
    /// LayerNorm, LocalResponseNorm; FrozenBatchNorm2d too (it holds only buffers, so the rule never applies to it).
    /// </summary>
    public static bool IsNormModule(nn.Module module) =>
        module is NormBase or GroupNorm or LayerNorm or LocalResponseNorm or FrozenBatchNorm2d;

    /// <summary>torch's <c>named_modules</c>: the root ("") first, then each child's subtree in registration order, each module once.</summary>
    internal static IEnumerable<(string Name, nn.Module Module)> ModulesDepthFirst(nn.Module root)
    {
        var visited = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(string, nn.Module)>();
        stack.Push(("", root));
        while (stack.Count > 0)
        {
            var (name, module) = stack.Pop();
            if (!visited.Add(module))
                continue;
            yield return (name, module);
            foreach (var (childName, child) in module.named_children().Reverse())
                stack.Push((name.Length == 0 ? childName : $"{name}.{childName}", child));
        }
    }
}
