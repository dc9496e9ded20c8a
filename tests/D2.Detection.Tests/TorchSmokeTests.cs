using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests;

/// <summary>
/// Proves the native Torch stack loads on this host and computes the right numbers: a conv2d forward and backward and
/// two SGD steps (momentum and weight decay, as Detectron2 configures them), against a direct float64 computation.
/// </summary>
public class TorchSmokeTests
{
    const int Batch = 1, InChannels = 2, OutChannels = 3, Size = 5, Kernel = 3, Padding = 1;

    static double X(int c, int i, int j) => Math.Sin(0.7 * c + 0.3 * i - 0.2 * j) + 0.1 * j;
    static double W0(int o, int c, int u, int v) => 0.05 * (o - 1) + 0.1 * Math.Cos(o + 2 * c + 0.5 * u - v);
    static double B0(int o) => 0.1 * o - 0.05;
    // Upstream gradient: loss = sum(y * G), so dL/dy = G.
    static double G(int o, int i, int j) => (o + 1) * 0.1 - 0.05 * i + 0.02 * j;

    static double XPadded(int c, int i, int j) =>
        i < 0 || j < 0 || i >= Size || j >= Size ? 0.0 : X(c, i, j);

    static double[,,] ReferenceForward(double[,,,] w, double[] b)
    {
        var y = new double[OutChannels, Size, Size];
        for (var o = 0; o < OutChannels; o++)
        for (var i = 0; i < Size; i++)
        for (var j = 0; j < Size; j++)
        {
            var sum = b[o];
            for (var c = 0; c < InChannels; c++)
            for (var u = 0; u < Kernel; u++)
            for (var v = 0; v < Kernel; v++)
                sum += w[o, c, u, v] * XPadded(c, i + u - Padding, j + v - Padding);
            y[o, i, j] = sum;
        }
        return y;
    }

    static (double[,,,] dW, double[] dB, double[,,] dX) ReferenceBackward(double[,,,] w)
    {
        var dW = new double[OutChannels, InChannels, Kernel, Kernel];
        var dB = new double[OutChannels];
        var dX = new double[InChannels, Size, Size];
        for (var o = 0; o < OutChannels; o++)
        for (var i = 0; i < Size; i++)
        for (var j = 0; j < Size; j++)
        {
            dB[o] += G(o, i, j);
            for (var c = 0; c < InChannels; c++)
            for (var u = 0; u < Kernel; u++)
            for (var v = 0; v < Kernel; v++)
            {
                int si = i + u - Padding, sj = j + v - Padding;
                dW[o, c, u, v] += G(o, i, j) * XPadded(c, si, sj);
                if (si >= 0 && sj >= 0 && si < Size && sj < Size)
                    dX[c, si, sj] += G(o, i, j) * w[o, c, u, v];
            }
        }
        return (dW, dB, dX);
    }

    static double[,,,] InitialWeight()
    {
        var w = new double[OutChannels, InChannels, Kernel, Kernel];
        for (var o = 0; o < OutChannels; o++)
        for (var c = 0; c < InChannels; c++)
        for (var u = 0; u < Kernel; u++)
        for (var v = 0; v < Kernel; v++)
            w[o, c, u, v] = W0(o, c, u, v);
        return w;
    }

    static Tensor FromFunc(long[] shape, Func<int[], double> f)
    {
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var data = new float[count];
        var index = new int[shape.Length];
        for (var n = 0; n < count; n++)
        {
            var rest = n;
            for (var d = shape.Length - 1; d >= 0; d--)
            {
                index[d] = rest % (int)shape[d];
                rest /= (int)shape[d];
            }
            data[n] = (float)f(index);
        }
        return tensor(data, shape);
    }

    static void AssertClose(Tensor actual, Func<int[], double> expected, double tolerance, string what)
    {
        var shape = actual.shape;
        var values = actual.contiguous().data<float>().ToArray();
        var index = new int[shape.Length];
        for (var n = 0; n < values.Length; n++)
        {
            var rest = n;
            for (var d = shape.Length - 1; d >= 0; d--)
            {
                index[d] = rest % (int)shape[d];
                rest /= (int)shape[d];
            }
            var e = expected(index);
            Assert.That(values[n], Is.EqualTo(e).Within(tolerance * Math.Max(1.0, Math.Abs(e))), $"{what}[{string.Join(",", index)}]");
        }
    }

    [Test]
    public void Conv2d_forward_and_backward_match_float64_reference()
    {
        using var scope = NewDisposeScope();
        var w = InitialWeight();
        var b = Enumerable.Range(0, OutChannels).Select(B0).ToArray();

        var x = FromFunc([Batch, InChannels, Size, Size], ix => X(ix[1], ix[2], ix[3])).requires_grad_();
        var weight = FromFunc([OutChannels, InChannels, Kernel, Kernel], ix => W0(ix[0], ix[1], ix[2], ix[3])).requires_grad_();
        var bias = FromFunc([OutChannels], ix => B0(ix[0])).requires_grad_();
        var g = FromFunc([Batch, OutChannels, Size, Size], ix => G(ix[1], ix[2], ix[3]));

        var y = nn.functional.conv2d(x, weight, bias, padding: [Padding, Padding]);
        (y * g).sum().backward();

        var yRef = ReferenceForward(w, b);
        var (dW, dB, dX) = ReferenceBackward(w);
        AssertClose(y, ix => yRef[ix[1], ix[2], ix[3]], 1e-5, "y");
        AssertClose(weight.grad!, ix => dW[ix[0], ix[1], ix[2], ix[3]], 1e-5, "dL/dweight");
        AssertClose(bias.grad!, ix => dB[ix[0]], 1e-5, "dL/dbias");
        AssertClose(x.grad!, ix => dX[ix[1], ix[2], ix[3]], 1e-5, "dL/dx");
    }

    [Test]
    public void Sgd_with_momentum_and_weight_decay_matches_hand_update_over_two_steps()
    {
        using var scope = NewDisposeScope();
        const double lr = 0.1, momentum = 0.9, weightDecay = 1e-4;
        var weight = new TorchSharp.Modules.Parameter(FromFunc([OutChannels, InChannels, Kernel, Kernel], ix => W0(ix[0], ix[1], ix[2], ix[3])));
        var x = FromFunc([Batch, InChannels, Size, Size], ix => X(ix[1], ix[2], ix[3]));
        var g = FromFunc([Batch, OutChannels, Size, Size], ix => G(ix[1], ix[2], ix[3]));
        var optimizer = optim.SGD([weight], lr, momentum: momentum, weight_decay: weightDecay);

        // The loss is linear in the weight, so its gradient is the same at every step; PyTorch's SGD:
        // d = grad + wd * w;  buf = d (first step) else momentum * buf + d;  w -= lr * buf.
        var w = InitialWeight();
        var (dW, _, _) = ReferenceBackward(w);
        var buffer = new double[OutChannels, InChannels, Kernel, Kernel];
        for (var step = 0; step < 2; step++)
        {
            optimizer.zero_grad();
            (nn.functional.conv2d(x, weight, padding: [Padding, Padding]) * g).sum().backward();
            optimizer.step();
            for (var o = 0; o < OutChannels; o++)
            for (var c = 0; c < InChannels; c++)
            for (var u = 0; u < Kernel; u++)
            for (var v = 0; v < Kernel; v++)
            {
                var d = dW[o, c, u, v] + weightDecay * w[o, c, u, v];
                buffer[o, c, u, v] = step == 0 ? d : momentum * buffer[o, c, u, v] + d;
                w[o, c, u, v] -= lr * buffer[o, c, u, v];
            }
        }
        using var noGrad = no_grad();
        AssertClose(weight.detach(), ix => w[ix[0], ix[1], ix[2], ix[3]], 1e-5, "weight after 2 steps");
    }
}
