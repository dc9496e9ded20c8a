using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>fvcore's weight initialisers, as Detectron2 applies them (spec §17).</summary>
public static class WeightInit
{
    /// <summary>c2_msra_fill: N(0, sqrt(2 / fan_out)), fan_out = dim0 * kh * kw; bias 0.</summary>
    public static void C2MsraFill(Tensor weight, Tensor? bias)
    {
        using var _ = no_grad();
        nn.init.kaiming_normal_(weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        bias?.zero_();
    }

    /// <summary>c2_xavier_fill: kaiming-uniform with a = 1, i.e. U(-sqrt(3 / fan_in), sqrt(3 / fan_in)); bias 0.</summary>
    public static void C2XavierFill(Tensor weight, Tensor? bias)
    {
        using var _ = no_grad();
        nn.init.kaiming_uniform_(weight, a: 1);
        bias?.zero_();
    }

    /// <summary>N(0, std), bias 0: RPN head, box predictor and mask predictor.</summary>
    public static void NormalFill(Tensor weight, Tensor? bias, double std)
    {
        using var _ = no_grad();
        nn.init.normal_(weight, 0, std);
        bias?.zero_();
    }

    public static void C2MsraFill(Conv2d conv) => C2MsraFill(conv.Weight, conv.Bias);

    public static void C2XavierFill(Conv2d conv) => C2XavierFill(conv.Weight, conv.Bias);
}
