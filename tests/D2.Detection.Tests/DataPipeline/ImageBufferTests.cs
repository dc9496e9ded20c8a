using D2.Detection.Data;
using static TorchSharp.torch;

namespace D2.Detection.Tests.DataPipeline;

public class ImageBufferTests
{
    static ImageBuffer RandomImage(int height, int width, int channels, int seed)
    {
        var pixels = new byte[height * width * channels];
        new Random(seed).NextBytes(pixels);
        return new ImageBuffer(pixels, height, width, channels);
    }

    [TestCase(3)]
    [TestCase(1)]
    [TestCase(4)]
    public void ToFloatTensor_equals_the_uint8_tensor_converted_by_libtorch(int channels)
    {
        var image = RandomImage(37, 53, channels, channels);
        using var scope = NewDisposeScope();
        var expected = image.ToTensor().to(float32);
        var actual = image.ToFloatTensor();
        Assert.That(actual.shape, Is.EqualTo(new long[] { channels, 37, 53 }));
        Assert.That(actual.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(actual.eq(expected).all().item<bool>(), Is.True);
    }

    [Test]
    public void ToFloatTensor_keeps_its_values_through_garbage_collections()
    {
        // The tensor shares a managed array: it must stay pinned and alive while the tensor lives.
        var image = RandomImage(64, 48, 3, 7);
        using var expected = image.ToTensor().to(float32);
        using var actual = image.ToFloatTensor();
        for (var i = 0; i < 3; i++)
        {
            _ = Enumerable.Range(0, 2000).Select(n => new float[n]).ToList();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        Assert.That(actual.eq(expected).all().item<bool>(), Is.True);
    }

    [Test]
    public void ToFloatTensor_of_an_empty_image_has_its_shape()
    {
        using var empty = new ImageBuffer([], 0, 5, 3).ToFloatTensor();
        Assert.That(empty.shape, Is.EqualTo(new long[] { 3, 0, 5 }));
    }
}
