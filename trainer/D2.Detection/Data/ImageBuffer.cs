using D2.Detection.Layers;
using static TorchSharp.torch;

namespace D2.Detection.Data;

/// <summary>
/// An 8-bit image as Detectron2's data pipeline holds it between decoding and the model: a numpy-style HWC array
/// (row-major, channels interleaved). Transforms work on these bytes; <see cref="ToTensor"/> gives the model's (C, H, W).
/// </summary>
public sealed class ImageBuffer
{
    /// <param name="pixels">Height * Width * Channels bytes, HWC order; the buffer takes ownership (no copy)</param>
    public ImageBuffer(byte[] pixels, int height, int width, int channels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        if ((long)height * width * channels != pixels.LongLength)
            throw new ArgumentException(
                $"An HWC image of {height}x{width}x{channels} needs {(long)height * width * channels} bytes; got {pixels.LongLength}.", nameof(pixels));
        Pixels = pixels;
        Height = height;
        Width = width;
        Channels = channels;
    }

    /// <summary>HWC bytes: pixel (y, x) channel c is at (y * Width + x) * Channels + c.</summary>
    public byte[] Pixels { get; }

    public int Height { get; }

    public int Width { get; }

    public int Channels { get; }

    public byte this[int y, int x, int c] => Pixels[((long)y * Width + x) * Channels + c];

    /// <summary>(C, H, W) uint8 on the CPU, as Detectron2's mapper hands the image to the model.</summary>
    public Tensor ToTensor()
    {
        using var scope = NewDisposeScope();
        var hwc = tensor(Pixels, [Height, Width, Channels], ScalarType.Byte);
        return hwc.permute(2, 0, 1).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// (C, H, W) float32 on the CPU, 0..255: the predictor's input, equal to <c>ToTensor().to(float32)</c>. Converted in
    /// managed code into an array the tensor then shares (frombuffer), so the calling thread runs no libtorch kernel: in
    /// the model server, images are prepared on request threads while the model thread runs, and each thread that runs a
    /// libtorch kernel gets an OpenMP team of its own next to the model thread's.
    /// </summary>
    public Tensor ToFloatTensor()
    {
        var plane = (long)Height * Width;
        if (plane == 0)
            return zeros([Channels, Height, Width], ScalarType.Float32);
        var values = new float[plane * Channels];
        var pixels = Pixels;
        if (Channels == 3)
        {
            // One pass over the interleaved bytes, three sequential planes.
            for (long i = 0, p = 0; i < plane; i++, p += 3)
            {
                values[i] = pixels[p];
                values[plane + i] = pixels[p + 1];
                values[2 * plane + i] = pixels[p + 2];
            }
        }
        else
        {
            for (long c = 0; c < Channels; c++)
                for (long i = 0; i < plane; i++)
                    values[c * plane + i] = pixels[i * Channels + c];
        }
        using var flat = frombuffer(values, ScalarType.Float32);
        return flat.view(Channels, Height, Width);
    }

    /// <summary>The buffer of a (C, H, W) uint8 tensor (e.g. an image decoded elsewhere).</summary>
    public static ImageBuffer FromTensor(Tensor chw)
    {
        ArgumentNullException.ThrowIfNull(chw);
        if (chw.dim() != 3 || chw.dtype != ScalarType.Byte)
            throw new ArgumentException(
                $"An image tensor must be (C, H, W) uint8; got shape [{string.Join(", ", chw.shape)}] {chw.dtype}.", nameof(chw));
        using var scope = NewDisposeScope();
        var pixels = TensorMemory.ToArray<byte>(chw.permute(1, 2, 0));
        return new ImageBuffer(pixels, (int)chw.shape[1], (int)chw.shape[2], (int)chw.shape[0]);
    }
}
