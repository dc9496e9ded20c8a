using D2.Detection.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>SOLVER.CLIP_GRADIENTS.CLIP_TYPE.</summary>
public enum GradientClipType
{
    /// <summary>"value": clamp every gradient element to [-CLIP_VALUE, CLIP_VALUE].</summary>
    Value,

    /// <summary>"norm": rescale each parameter's gradient separately to an L-NORM_TYPE norm of at most CLIP_VALUE.</summary>
    Norm,

    /// <summary>"full_model": one norm over all gradients together (Detectron2 projects' full-model clipping).</summary>
    FullModel,
}

/// <summary>
/// Detectron2's gradient clipping (<c>maybe_add_gradient_clipping</c>), applied to the optimizer's parameters just
/// before each step. "value" and "norm" work per parameter tensor, as Detectron2's per-parameter clipper; "full_model"
/// clips the global norm as the Mask2Former/ViTDet projects do (with NORM_TYPE, which they leave at 2).
/// </summary>
public sealed class GradientClipper
{
    /// <param name="clipValue">CLIP_VALUE: the bound on each element ("value") or on the norm</param>
    /// <param name="normType">NORM_TYPE: p of the L-p norm (double.PositiveInfinity for the max norm)</param>
    public GradientClipper(GradientClipType type, double clipValue, double normType = 2.0)
    {
        if (!(clipValue > 0))
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "SOLVER.CLIP_GRADIENTS.CLIP_VALUE must be positive.");
        if (!(normType > 0))
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "SOLVER.CLIP_GRADIENTS.NORM_TYPE must be positive.");
        Type = type;
        ClipValue = clipValue;
        NormType = normType;
    }

    public GradientClipType Type { get; }
    public double ClipValue { get; }
    public double NormType { get; }

    /// <summary>The clipper SOLVER.CLIP_GRADIENTS describes, or null when ENABLED is false.</summary>
    public static GradientClipper? FromConfig(CfgNode cfg)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        if (!cfg.Get<bool>("SOLVER.CLIP_GRADIENTS.ENABLED"))
            return null;
        var name = cfg.Get<string>("SOLVER.CLIP_GRADIENTS.CLIP_TYPE");
        var type = name switch
        {
            "value" => GradientClipType.Value,
            "norm" => GradientClipType.Norm,
            "full_model" => GradientClipType.FullModel,
            _ => throw new ArgumentException($"SOLVER.CLIP_GRADIENTS.CLIP_TYPE '{name}' is not a gradient clip type; use 'value', 'norm' or 'full_model'."),
        };
        return new GradientClipper(type, cfg.Get<double>("SOLVER.CLIP_GRADIENTS.CLIP_VALUE"), cfg.Get<double>("SOLVER.CLIP_GRADIENTS.NORM_TYPE"));
    }

    /// <summary>Clips the gradients of <paramref name="parameters"/> in place; parameters without a gradient are left alone.</summary>
    public void Clip(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var scope = NewDisposeScope();
        var withGradient = parameters.Where(HasGradient).ToList();
        switch (Type)
        {
            case GradientClipType.Value:
                foreach (var parameter in withGradient)
                    nn.utils.clip_grad_value_([parameter], ClipValue);
                break;
            case GradientClipType.Norm:
                foreach (var parameter in withGradient)
                    nn.utils.clip_grad_norm_([parameter], ClipValue, NormType);
                break;
            case GradientClipType.FullModel:
                if (withGradient.Count > 0)
                    nn.utils.clip_grad_norm_(withGradient, ClipValue, NormType);
                break;
            default:
                throw new InvalidOperationException($"Unknown clip type {Type}.");
        }
    }

    private static bool HasGradient(Parameter parameter)
    {
        using var gradient = parameter.grad;
        return gradient is not null;
    }
}
