using D2.Detection.Layers;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Layers;

/// <summary>
/// BatchInvariantConvolution: an image convolved alone, or in a batch of 2, 3, 16 or 17, gets the same bits, on one and
/// on two threads, on both sides of libtorch's 20,480-value native threshold and for every kernel the model uses
/// (1x1 with and without stride, 3x3, the stem's 7x7, grouped). Outside the scope nothing changes.
/// </summary>
[NonParallelizable] // changes libtorch's thread count
public class BatchInvariantConvolutionTests
{
    static readonly (long In, long Out, long Kernel, long Stride, long Groups, long Size)[] Shapes =
    [
        (256, 256, 3, 1, 1, 8),   // 256 x 8 x 8 = 16,384 values: libtorch's own kernel for one image
        (320, 256, 3, 1, 1, 8),   // 20,480 exactly: still native
        (256, 256, 3, 1, 1, 9),   // 20,736: oneDNN for any batch
        (512, 512, 3, 2, 1, 6),
        (256, 64, 1, 1, 1, 8),    // 1x1 unstrided: native on one thread below 16 images
        (256, 512, 1, 2, 1, 8),   // 1x1 strided
        (3, 16, 7, 2, 1, 16),     // the stem: a large kernel goes to oneDNN
        (64, 64, 3, 1, 32, 8),    // grouped
    ];

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Test]
    public void An_image_gets_the_same_bits_in_any_batch([Values(1, 2)] int threads)
    {
        var previousThreads = get_num_threads();
        set_num_threads(threads);
        try
        {
            using var noGrad = no_grad();
            foreach (var (inChannels, outChannels, kernel, stride, groups, size) in Shapes)
            {
                using var scope = NewDisposeScope();
                manual_seed(7);
                using var conv = new Conv2d(inChannels, outChannels, kernel, stride: stride, padding: kernel / 2, groups: groups);
                var images = randn(17, inChannels, size, size);
                var name = $"{inChannels}->{outChannels} k{kernel} s{stride} g{groups} at {size}x{size}, {threads} thread(s)";
                Tensor Alone(int batch)
                {
                    using var invariant = BatchInvariantConvolution.Activate();
                    return conv.forward(images.narrow(0, 0, batch)).narrow(0, 0, 1);
                }
                var reference = Alone(2);
                foreach (var batch in new[] { 1, 3, 16, 17 })
                    Assert.That(Same(Alone(batch), reference), Is.True, $"{name}: image 0 in a batch of {batch} vs 2");
                Assert.That(BatchInvariantConvolution.IsActive, Is.False, "the scope ended");
                // Outside the scope the convolution is libtorch's own choice, equal up to float rounding.
                var plain = conv.forward(images.narrow(0, 0, 1));
                Assert.That(plain.allclose(reference, rtol: 1e-4, atol: 1e-5), Is.True, $"{name}: plain single image");
            }
        }
        finally
        {
            set_num_threads(previousThreads);
        }
    }

    [Test]
    public void Scopes_nest_and_training_is_untouched()
    {
        using (BatchInvariantConvolution.Activate())
        {
            using (BatchInvariantConvolution.Activate())
                Assert.That(BatchInvariantConvolution.IsActive, Is.True);
            Assert.That(BatchInvariantConvolution.IsActive, Is.True, "the inner scope restores the outer one");
            using (default(BatchInvariantConvolution.Scope))
            {
            }
            Assert.That(BatchInvariantConvolution.IsActive, Is.True, "a default scope restores nothing");
        }
        Assert.That(BatchInvariantConvolution.IsActive, Is.False);
        // Another thread has its own state.
        using (BatchInvariantConvolution.Activate())
        {
            var other = false;
            var thread = new Thread(() => other = BatchInvariantConvolution.IsActive);
            thread.Start();
            thread.Join();
            Assert.That(other, Is.False);
        }
        // With gradients the batch of one runs as one (nothing duplicated into the graph).
        using var conv = new Conv2d(256, 256, 3, padding: 1);
        using var x = randn(new long[] { 1, 256, 8, 8 }, requires_grad: true);
        using (BatchInvariantConvolution.Activate())
        {
            using var y = conv.forward(x);
            Assert.That(y.shape, Is.EqualTo(new long[] { 1, 256, 8, 8 }));
            using var expected = nn.functional.conv2d(x, conv.Weight, conv.Bias, padding: [1, 1]);
            Assert.That(Same(y, expected), Is.True);
        }
    }
}
