using D2.Detection.Solver;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Solver;

/// <summary>ScalarSafeSGD's step is TorchSharp's SGD step: bit for bit the same parameters and momentum buffers.</summary>
public class ScalarSafeSGDTests
{
    [TestCase(0.9, 0.0, 1e-4, false)]
    [TestCase(0.9, 0.0, 1e-4, true)]
    [TestCase(0.0, 0.0, 0.0, false)]
    [TestCase(0.5, 0.25, 1e-2, false)]
    public void StepsExactlyAsTorchSharpsSGD(double momentum, double dampening, double weightDecay, bool nesterov)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var start = new[] { randn([3, 4]), randn([5]) };
        var ours = start.Select(t => new Parameter(t.clone())).ToArray();
        var theirs = start.Select(t => new Parameter(t.clone())).ToArray();
        // Two groups with their own learning rate and decay, as OptimizerBuilder makes them (bias lr factor).
        SGD Make(Parameter[] p, bool safe)
        {
            var groups = new[]
            {
                new SGD.ParamGroup([p[0]], lr: 0.1, momentum: momentum, dampening: dampening, weight_decay: weightDecay, nesterov: nesterov),
                new SGD.ParamGroup([p[1]], lr: 0.2, momentum: momentum, dampening: dampening, weight_decay: 0, nesterov: nesterov),
            };
            return safe
                ? new ScalarSafeSGD(groups, 0.1, momentum, dampening, weightDecay, nesterov)
                : optim.SGD(groups, 0.1, momentum, dampening, weightDecay, nesterov);
        }
        var optimizers = (Ours: Make(ours, safe: true), Theirs: Make(theirs, safe: false));
        for (var step = 0; step < 5; step++)
        {
            var input = randn([4]);
            foreach (var (parameters, optimizer) in new[] { (ours, optimizers.Ours), (theirs, optimizers.Theirs) })
            {
                optimizer.zero_grad();
                var loss = parameters[0].matmul(input).sum().mul(parameters[1].sum()).tanh();
                loss.backward();
                if (step == 3)
                    foreach (var group in optimizer.ParamGroups)
                        group.LearningRate *= 0.5; // as the LR schedulers change it
                optimizer.step();
            }
            for (var i = 0; i < ours.Length; i++)
                Assert.That(ours[i].data<float>().ToArray(), Is.EqualTo(theirs[i].data<float>().ToArray()), $"parameter {i} after step {step}");
        }
        optimizers.Ours.Dispose();
        optimizers.Theirs.Dispose();
    }
}
