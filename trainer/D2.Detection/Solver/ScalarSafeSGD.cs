using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>
/// torch's SGD with TorchSharp 0.107's step, except that the step's Scalars (weight decay, momentum, 1 - dampening, -lr)
/// are held for the whole update: TorchSharp's own step passes them as implicit Scalars the GC can finalize while
/// libtorch reads them (a wrong update or a crash in a long run; see <see cref="TorchScalars"/>). Same state, options and
/// parameter groups as <see cref="SGD"/>, so checkpoints and the LR schedulers see no difference.
/// </summary>
public sealed class ScalarSafeSGD : SGD
{
#pragma warning disable D2S002 // The base's constructor only stores options; its step (the hazard) is replaced below.
    public ScalarSafeSGD(IEnumerable<ParamGroup> parameters, double lr, double momentum, double dampening, double weightDecay, bool nesterov)
        : base(parameters, lr, momentum, dampening, weightDecay, nesterov)
#pragma warning restore D2S002
    {
    }

    /// <summary>TorchSharp's SGD.step, operation for operation, with every Scalar held until the group is done.</summary>
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        var momentum = options.momentum!.Value;
        var dampening = options.dampening!.Value;
        var weightDecay = options.weight_decay!.Value;
        var nesterov = options.nesterov!.Value;
        var lr = options.LearningRate!.Value;
        using var weightDecayScalar = weightDecay.ToScalar();
        using var momentumScalar = momentum.ToScalar();
        using var undampened = (1 - dampening).ToScalar();
        using var step = (options.maximize!.Value ? lr : -lr).ToScalar();
        foreach (var param in group.Parameters)
        {
            var state = (State)_state[param.Handle];
            var grad = param.grad;
            if (grad is null)
                continue;
            if (weightDecay != 0)
                grad = grad.add(param, weightDecayScalar);
            if (momentum != 0)
            {
                var buf = state.momentum_buffer;
                if (buf is null)
                {
                    buf = grad.clone().detach().DetachFromDisposeScope();
                    state.momentum_buffer = buf;
                }
                else
                {
                    buf.mul_(momentumScalar).add_(grad, undampened);
                }
                grad = nesterov ? grad.add(buf, momentumScalar) : buf;
            }
            param.add_(grad, step);
        }
    }, closure);
}
