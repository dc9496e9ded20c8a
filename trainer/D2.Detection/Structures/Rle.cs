using System.Buffers;
using System.Text;

namespace D2.Detection.Structures;

/// <summary>
/// COCO run-length encoding: Counts alternate runs of 0s and 1s, starting with 0s, in column-major (Fortran) order.
/// Semantics follow pycocotools' maskApi.c: the codec lives here, polygon/box rasterisation in Rle.Polygon.cs,
/// merge and IoU in Rle.Iou.cs, the COCO JSON forms in Rle.CocoSegmentation.cs.
/// Immutable, so safe to share across threads (the cached area and box are recomputed identically if raced).
/// </summary>
public sealed partial class Rle
{
    // The string codec stores 5 data bits per character, offset into printable ASCII from '0' (48) to 'o' (111).
    const int CharOffset = 48;
    const int DataBits = 5;
    const int DataMask = 0x1f;
    const int SignBit = 0x10;
    const int ContinueBit = 0x20;

    readonly uint[] _counts;
    double[]? _bbox;
    long _area = -1;

    /// <summary>Builds an RLE from its runs (0s first); the runs must cover exactly height*width pixels.</summary>
    public Rle(int height, int width, IReadOnlyList<uint> counts)
        : this(height, width, CopyCounts(counts), validate: true)
    {
    }

    Rle(int height, int width, uint[] counts, bool validate)
    {
        if (validate)
        {
            if (height < 0) throw new ArgumentOutOfRangeException(nameof(height), height, "RLE height must not be negative.");
            if (width < 0) throw new ArgumentOutOfRangeException(nameof(width), width, "RLE width must not be negative.");
            var sum = SumCounts(counts);
            var pixels = (ulong)height * (ulong)width;
            if (sum != pixels)
                throw new ArgumentException(
                    $"RLE counts sum to {sum} but a {height}x{width} mask has {pixels} pixels.", nameof(counts));
        }
        Height = height;
        Width = width;
        _counts = counts;
        Counts = Array.AsReadOnly(counts);
    }

    public int Height { get; }
    public int Width { get; }

    /// <summary>Run lengths, alternating 0s and 1s, starting with 0s (the first run may be empty).</summary>
    public IReadOnlyList<uint> Counts { get; }

    static uint[] CopyCounts(IReadOnlyList<uint> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var copy = new uint[counts.Count];
        for (var i = 0; i < copy.Length; i++) copy[i] = counts[i];
        return copy;
    }

    static ulong SumCounts(uint[] counts)
    {
        ulong sum = 0;
        foreach (var c in counts) sum += c;
        return sum;
    }

    static void CheckSize(int height, int width, int length, string name)
    {
        if (height < 0) throw new ArgumentOutOfRangeException(nameof(height), height, "Mask height must not be negative.");
        if (width < 0) throw new ArgumentOutOfRangeException(nameof(width), width, "Mask width must not be negative.");
        if ((long)height * width != length)
            throw new ArgumentException($"{name} has {length} elements but a {height}x{width} mask needs {(long)height * width}.", name);
    }

    /// <summary>Encodes a mask given ROW-MAJOR (h*w, as torch/numpy store it); nonzero means on.</summary>
    public static Rle Encode(ReadOnlySpan<byte> mask, int height, int width)
    {
        CheckSize(height, width, mask.Length, nameof(mask));
        // pycocotools walks the mask in Fortran order (down each column). A predicted mask is empty outside its box, so
        // only the rows and columns holding pixels are transposed; the rest are zero runs.
        int top = -1, bottom = -1, left = width, right = -1;
        for (var y = 0; y < height; y++)
        {
            var row = mask.Slice(y * width, width);
            var first = row.IndexOfAnyExcept((byte)0);
            if (first < 0)
                continue;
            if (top < 0)
                top = y;
            bottom = y;
            left = Math.Min(left, first);
            right = Math.Max(right, row.LastIndexOfAnyExcept((byte)0));
        }
        var runs = new RunBuilder();
        if (top < 0)
        {
            runs.Add(false, mask.Length);
            return new Rle(height, width, runs.ToArray(), validate: false);
        }
        int boxHeight = bottom - top + 1, boxWidth = right - left + 1;
        var columns = ArrayPool<byte>.Shared.Rent(boxHeight * boxWidth);
        try
        {
            // Transposed in cache-sized tiles.
            const int Tile = 64;
            for (var y0 = top; y0 <= bottom; y0 += Tile)
            {
                var y1 = Math.Min(y0 + Tile, bottom + 1);
                for (var x0 = left; x0 <= right; x0 += Tile)
                {
                    var x1 = Math.Min(x0 + Tile, right + 1);
                    for (var y = y0; y < y1; y++)
                    {
                        var row = mask.Slice(y * width, width);
                        for (var x = x0; x < x1; x++)
                            columns[(x - left) * boxHeight + (y - top)] = row[x];
                    }
                }
            }
            runs.Add(false, (long)left * height);
            for (var x = 0; x < boxWidth; x++)
            {
                runs.Add(false, top);
                runs.AddPixels(columns.AsSpan(x * boxHeight, boxHeight));
                runs.Add(false, height - 1 - bottom);
            }
            runs.Add(false, (long)(width - 1 - right) * height);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(columns);
        }
        return new Rle(height, width, runs.ToArray(), validate: false);
    }

    /// <summary>COCO run lengths in walking order: a 0-run first (possibly empty), then alternating; adjacent runs of the
    /// same value merge.</summary>
    sealed class RunBuilder
    {
        readonly List<uint> _counts = [0];
        bool _on;

        public void Add(bool on, long length)
        {
            if (length == 0)
                return;
            if (on != _on)
            {
                _counts.Add(0);
                _on = on;
            }
            _counts[^1] += (uint)length;
        }

        /// <summary>The runs of pixels in walking order (nonzero = on), found with vectorised searches.</summary>
        public void AddPixels(ReadOnlySpan<byte> pixels)
        {
            while (!pixels.IsEmpty)
            {
                var on = pixels[0] != 0;
                var next = on ? pixels.IndexOf((byte)0) : pixels.IndexOfAnyExcept((byte)0);
                var length = next < 0 ? pixels.Length : next;
                Add(on, length);
                pixels = pixels[length..];
            }
        }

        public uint[] ToArray() => [.. _counts];
    }

    /// <summary>Encodes a mask given COLUMN-MAJOR (w*h, the order COCO walks it, as pycocotools' Fortran-order arrays);
    /// nonzero means on.</summary>
    public static Rle EncodeColumnMajor(ReadOnlySpan<byte> mask, int height, int width)
    {
        CheckSize(height, width, mask.Length, nameof(mask));
        var runs = new RunBuilder();
        runs.AddPixels(mask);
        return new Rle(height, width, runs.ToArray(), validate: false);
    }

    /// <summary>Decodes to a ROW-MAJOR h*w array of 0/1.</summary>
    public byte[] Decode()
    {
        var mask = new byte[(long)Height * Width];
        long position = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            long remaining = _counts[i];
            if ((i & 1) == 1)
            {
                // Fill the 1-run column segment by column segment (it is contiguous in column-major order).
                var p = position;
                while (remaining > 0)
                {
                    var x = (int)(p / Height);
                    var y = (int)(p % Height);
                    var n = Math.Min(remaining, Height - y);
                    for (var k = 0; k < n; k++) mask[(long)(y + k) * Width + x] = 1;
                    remaining -= n;
                    p += n;
                }
            }
            position += _counts[i];
        }
        return mask;
    }

    /// <summary>
    /// pycocotools rleToString: each count (from index 3 on, the difference to the count two places back) is written
    /// as little-endian 5-bit groups, bit 0x20 marking "more groups follow", plus 48 to land in printable ASCII.
    /// </summary>
    public string ToCompressedString()
    {
        var text = new StringBuilder(_counts.Length * 2);
        for (var i = 0; i < _counts.Length; i++)
        {
            long x = _counts[i];
            if (i > 2) x -= _counts[i - 2];
            bool more;
            do
            {
                var c = (int)(x & DataMask);
                x >>= DataBits; // arithmetic shift keeps the sign of delta-coded negatives
                // Stop once the rest is pure sign extension of the group just written.
                more = (c & SignBit) != 0 ? x != -1 : x != 0;
                if (more) c |= ContinueBit;
                text.Append((char)(c + CharOffset));
            } while (more);
        }
        return text.ToString();
    }

    /// <summary>pycocotools rleFrString: the inverse of <see cref="ToCompressedString"/>.</summary>
    public static Rle FromCompressedString(string counts, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (height < 0 || width < 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"RLE size {height}x{width} must not be negative.");
        var decoded = new List<uint>();
        var p = 0;
        while (p < counts.Length)
        {
            long x = 0;
            var group = 0;
            bool more;
            do
            {
                if (p >= counts.Length)
                    throw new FormatException($"RLE string ends inside a count (at character {p}): '{Shorten(counts)}'.");
                var c = counts[p] - CharOffset;
                if (c < 0 || c > 63)
                    throw new FormatException(
                        $"RLE string has character '{counts[p]}' at {p}; COCO RLE characters lie between '0' and 'o'.");
                if (group >= 12)
                    throw new FormatException($"RLE string has a count longer than 12 characters at {p}.");
                x |= (long)(c & DataMask) << (DataBits * group);
                more = (c & ContinueBit) != 0;
                p++;
                group++;
                if (!more && (c & SignBit) != 0) x |= -1L << (DataBits * group);
            } while (more);
            if (decoded.Count > 2) x += decoded[^2];
            if (x < 0 || x > uint.MaxValue)
                throw new FormatException($"RLE string decodes count {decoded.Count} to {x}, outside 0..{uint.MaxValue}.");
            decoded.Add((uint)x);
        }
        var array = decoded.ToArray();
        var sum = SumCounts(array);
        if (sum != (ulong)height * (ulong)width)
            throw new FormatException(
                $"RLE string covers {sum} pixels but its size {height}x{width} has {(ulong)height * (ulong)width}.");
        return new Rle(height, width, array, validate: false);
    }

    static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";

    /// <summary>pycocotools rleArea: the number of on pixels (the sum of the odd runs).</summary>
    public long Area()
    {
        if (_area >= 0) return _area;
        long sum = 0;
        for (var i = 1; i < _counts.Length; i += 2) sum += _counts[i];
        return _area = sum;
    }

    /// <summary>pycocotools rleToBbox: [x, y, w, h] of the on pixels, all zero for an empty mask.</summary>
    public double[] ToBbox() => (double[])CachedBbox().Clone();

    internal double[] CachedBbox() => _bbox ??= ComputeBbox();

    double[] ComputeBbox()
    {
        // A trailing 0-run carries no boundary, so only an even number of runs is walked.
        var m = _counts.Length / 2 * 2;
        if (m == 0 || Height == 0 || Width == 0) return new double[4];
        uint h = (uint)Height, xs = (uint)Width, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
        for (var j = 0; j < m; j++)
        {
            cc += _counts[j];
            // Even j: cc is the first pixel of a 1-run; odd j: cc - 1 is its last pixel (uint wrap as in the C code).
            var t = unchecked(cc - (uint)(j % 2));
            var y = t % h;
            var x = (t - y) / h;
            if (j % 2 == 0) xp = x;
            else if (xp < x)
            {
                // A run that wraps into a later column covers full columns' worth of rows, as pycocotools assumes.
                ys = 0;
                ye = h - 1;
            }
            xs = Math.Min(xs, x);
            xe = Math.Max(xe, x);
            ys = Math.Min(ys, y);
            ye = Math.Max(ye, y);
        }
        return [xs, ys, (double)xe - xs + 1, (double)ye - ys + 1];
    }

    public override string ToString() => $"Rle({Height}x{Width}, area {Area()}, {_counts.Length} runs)";
}
