using SkiaSharp;

namespace D2.Detection.Data.Synthetic;

/// <summary>What <see cref="SyntheticBalloons.Generate"/> wrote for one split.</summary>
/// <param name="Folder">holds the JPEGs, <c>via_region_data.json</c> and <c>annotations.json</c></param>
public sealed record SyntheticSplit(string Name, string Folder, int Images, int Instances);

/// <summary>
/// A deterministic stand-in for the balloon dataset (the demo trains from scratch, with no download): coloured
/// balloons with a highlight and a string, 1-4 per image, partly overlapping and cut by the border, over varied
/// backgrounds with saturated distractor rectangles; the data of the measured reference run in the platform notes.
/// Laid out as the real dataset (<c>train/</c>, <c>val/</c>, each with its images and <c>via_region_data.json</c>),
/// so that <c>balloon_train</c> and <c>balloon_val</c> resolve to it, plus a COCO <c>annotations.json</c> per split.
/// </summary>
public static class SyntheticBalloons
{
    public const int JpegQuality = 90;

    /// <summary>The smallest image side that leaves room for a balloon of a few pixels.</summary>
    public const int MinSide = 32;

    /// <summary>
    /// Writes <paramref name="trainCount"/> images to <c>outDir/train</c> and <paramref name="valCount"/> to
    /// <c>outDir/val</c> with their annotations. The same arguments give byte-identical files.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">a negative count, or a side below <see cref="MinSide"/>.</exception>
    public static IReadOnlyList<SyntheticSplit> Generate(string outDir, int trainCount = 200, int valCount = 50, long seed = 0, int width = 320, int height = 240)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        ArgumentOutOfRangeException.ThrowIfNegative(trainCount);
        ArgumentOutOfRangeException.ThrowIfNegative(valCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, MinSide);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, MinSide);
        return
        [
            GenerateSplit(outDir, "train", stream: 0, trainCount, seed, width, height),
            GenerateSplit(outDir, "val", stream: 1, valCount, seed, width, height),
        ];
    }

    static SyntheticSplit GenerateSplit(string outDir, string name, int stream, int count, long seed, int width, int height)
    {
        var folder = Path.GetFullPath(Path.Combine(outDir, name));
        Directory.CreateDirectory(folder);
        // Images are independent (own random stream each), so they render in parallel and still come out identical.
        var images = new (string FileName, long Bytes, IReadOnlyList<SKPoint[]> Instances)[count];
        Parallel.For(0, count, index =>
        {
            var random = SyntheticRandom.For(seed, stream, index);
            var scene = SyntheticScene.Layout(random, width, height);
            var fileName = $"balloon_{index:D4}.jpg";
            using var bitmap = scene.Paint(random);
            using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, JpegQuality);
            var bytes = jpeg.ToArray();
            File.WriteAllBytes(Path.Combine(folder, fileName), bytes);
            images[index] = (fileName, bytes.Length, scene.Instances);
        });
        var writer = new SyntheticSplitWriter(folder);
        foreach (var image in images)
            writer.Add(image.FileName, image.Bytes, width, height, image.Instances);
        writer.Write(seed);
        return new SyntheticSplit(name, folder, writer.ImageCount, writer.InstanceCount);
    }
}
