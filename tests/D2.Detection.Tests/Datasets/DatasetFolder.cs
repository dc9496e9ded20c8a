using SkiaSharp;

namespace D2.Detection.Tests.Datasets;

/// <summary>A temporary folder for dataset fixtures written by the tests: json files and small JPEGs drawn with SkiaSharp.</summary>
internal sealed class DatasetFolder : IDisposable
{
    public DatasetFolder() => Root = Directory.CreateTempSubdirectory("d2-datasets-").FullName;

    public string Root { get; }

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public string Write(string relative, string text)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A plain grey JPEG of the given size with a red square, enough for a header to be read.</summary>
    /// <param name="exifOrientation">when not 1, an EXIF block with this orientation tag (274) is put after the start marker</param>
    public string WriteJpeg(string relative, int width, int height, int exifOrientation = 1)
    {
        var path = PathOf(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Gray);
            using var paint = new SKPaint { Color = SKColors.Red };
            canvas.DrawRect(1, 1, width / 2f, height / 2f, paint);
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        var jpeg = data.ToArray();
        File.WriteAllBytes(path, exifOrientation == 1 ? jpeg : [.. jpeg[..2], .. ExifSegment(exifOrientation), .. jpeg[2..]]);
        return path;
    }

    /// <summary>APP1 "Exif": a big-endian TIFF header and one IFD with a single SHORT entry, Orientation.</summary>
    static byte[] ExifSegment(int orientation) =>
    [
        0xFF, 0xE1, 0x00, 34, (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
        (byte)'M', (byte)'M', 0x00, 0x2A, 0, 0, 0, 8,
        0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0,
        0, 0, 0, 0,
    ];

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
