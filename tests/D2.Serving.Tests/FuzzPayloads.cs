using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace D2.Serving.Tests;

/// <summary>One request of the fuzz run: what it is (for failure messages), its body and headers.</summary>
internal sealed record FuzzPayload(string Kind, byte[] Body, string ContentType, string? CustomAttributes = null);

/// <summary>
/// Hostile and broken /invocations bodies, generated from a seed: random bytes, truncated and bit-flipped JPEG/PNG, PNG
/// and JPEG headers claiming huge sizes, a real PNG decompression bomb, extreme aspect ratios, malformed .npy and JSON.
/// </summary>
internal static class FuzzPayloads
{
    public static List<FuzzPayload> Generate(byte[] jpeg, int seed, int count)
    {
        var random = new Random(seed);
        var png = Encode(Decode(jpeg), SKEncodedImageFormat.Png);
        var bomb = PngBomb(10_000, 10_000);
        var small = Npy("|u1", false, "(120, 160, 3)", new byte[120 * 160 * 3]);
        string[] imageTypes = ["image/jpeg", "image/png", "application/x-image", "application/octet-stream"];
        var payloads = new List<FuzzPayload>();
        // The fixed cases once each, then random ones in proportion.
        payloads.Add(new("png bomb 10000x10000 (~100 KB)", bomb, "image/png"));
        payloads.Add(new("png header 30000x30000", PngHeaderOnly(30_000, 30_000), "image/png"));
        foreach (var (w, h) in new[] { (1, 4000), (4000, 1), (1, 300), (300, 1), (2, 700), (3, 200), (1, 1), (2, 2) })
            payloads.Add(new($"aspect {w}x{h}", Encode(Solid(w, h), SKEncodedImageFormat.Png), "image/png"));
        while (payloads.Count < count)
        {
            var pick = random.Next(100);
            payloads.Add(pick switch
            {
                < 12 => new("random bytes", Bytes(random, random.Next(0, 3000)), imageTypes[random.Next(imageTypes.Length)]),
                < 24 => new("truncated jpeg", jpeg[..random.Next(1, jpeg.Length - 1)], "image/jpeg"),
                < 32 => new("truncated png", png[..random.Next(1, png.Length - 1)], "image/png"),
                < 40 => new("bit-flipped jpeg", Flip(random, jpeg, random.Next(1, 9)), "image/jpeg"),
                < 46 => new("bit-flipped png", Flip(random, png, random.Next(1, 9)), "image/png"),
                < 54 => new("png huge header", PngHeaderOnly(random.Next(9_000, int.MaxValue), random.Next(9_000, int.MaxValue)), "image/png"),
                < 58 => new("jpeg huge header", JpegWithSize(jpeg, random.Next(10_000, 65_536), random.Next(10_000, 65_536)), "image/jpeg"),
                < 74 => MalformedNpy(random, small),
                < 92 => MalformedJson(random, jpeg),
                _ => MalformedHeaders(random, jpeg),
            });
        }
        return payloads;
    }

    static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    static byte[] Flip(Random random, byte[] source, int flips)
    {
        var copy = (byte[])source.Clone();
        for (var i = 0; i < flips; i++)
            copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    static FuzzPayload MalformedNpy(Random random, byte[] valid)
    {
        const string type = "application/x-npy";
        return random.Next(12) switch
        {
            0 => new("npy valid 160x120", valid, type),
            1 => new("npy bad magic", [.. "\x93NUMPZ"u8, .. valid[6..]], type),
            2 => new("npy version 4", Npy("|u1", false, "(120, 160, 3)", new byte[57600], major: 4), type),
            3 => new("npy float32", Npy("<f4", false, "(10, 10, 3)", new byte[1200]), type),
            4 => new("npy fortran", Npy("|u1", true, "(10, 10, 3)", new byte[300]), type),
            5 => new("npy 2-D", Npy("|u1", false, "(10, 10)", new byte[100]), type),
            6 => new("npy 4 channels", Npy("|u1", false, "(10, 10, 4)", new byte[400]), type),
            7 => new("npy short data", Npy("|u1", false, "(120, 160, 3)", new byte[1000]), type),
            8 => new("npy huge shape", Npy("|u1", false, "(100000, 100000, 3)", new byte[64]), type),
            9 => new("npy truncated", valid[..random.Next(1, 200)], type),
            10 => new("npy header garbage", Npy("|u1", false, "(1, 1, 3)", [1, 2, 3], headerOverride: Encoding.ASCII.GetString(Bytes(random, 40).Select(b => (byte)(32 + b % 90)).ToArray())), type),
            _ => new("npy version 2 valid 4x4", Npy("|u1", false, "(4, 4, 3)", new byte[48], major: 2), type),
        };
    }

    static FuzzPayload MalformedJson(Random random, byte[] jpeg)
    {
        const string json = "application/json";
        var b64 = Convert.ToBase64String(jpeg);
        return random.Next(12) switch
        {
            0 => new("json garbage", Bytes(random, random.Next(1, 500)), json),
            1 => new("json number image", "{\"image\": 5}"u8.ToArray(), json),
            2 => new("json bad base64", "{\"image\": \"!!!not base64\"}"u8.ToArray(), json),
            3 => new("json empty images", "{\"images\": []}"u8.ToArray(), json),
            4 => new("json list one bad", Encoding.UTF8.GetBytes($"{{\"images\": [\"{b64}\", \"AAAA\"]}}"), json),
            5 => new("json deep", Encoding.UTF8.GetBytes(new string('[', 5000) + new string(']', 5000)), json),
            6 => new("json array root", "[1, 2, 3]"u8.ToArray(), json),
            7 => new("json no image", "{\"picture\": \"AAAA\"}"u8.ToArray(), json),
            8 => new("json base64 of random", Encoding.UTF8.GetBytes($"{{\"image\": \"{Convert.ToBase64String(Bytes(random, 300))}\"}}"), json),
            9 => new("json truncated", Encoding.UTF8.GetBytes($"{{\"image\": \"{b64}\"}}")[..random.Next(1, 200)], json),
            10 => new("jsonlines one bad line", Encoding.UTF8.GetBytes($"{{\"image\": \"{b64}\"}}\nnot json\n"), "application/jsonlines"),
            _ => new("jsonlines empty", "\n\n"u8.ToArray(), "application/jsonlines"),
        };
    }

    static FuzzPayload MalformedHeaders(Random random, byte[] jpeg) => random.Next(5) switch
    {
        0 => new("bad custom attribute", jpeg, "image/jpeg", "score_threshold=lots"),
        1 => new("bad max_detections", jpeg, "image/jpeg", "max_detections=-3"),
        2 => new("text content type", jpeg, "text/plain"),
        3 => new("garbage content type", jpeg, "application/x-unknown;;;="),
        _ => new("empty body", [], "image/jpeg"),
    };

    public static byte[] Npy(string descr, bool fortran, string shape, byte[] data, int major = 1, string? headerOverride = null)
    {
        var header = headerOverride ?? $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        var preamble = major == 1 ? 10 : 12;
        var padded = header.PadRight((preamble + header.Length + 1 + 63) / 64 * 64 - preamble - 1) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.Add((byte)major);
        bytes.Add(0);
        if (major == 1)
            bytes.AddRange(BitConverter.GetBytes((ushort)padded.Length));
        else
            bytes.AddRange(BitConverter.GetBytes((uint)padded.Length));
        bytes.AddRange(Encoding.ASCII.GetBytes(padded));
        bytes.AddRange(data);
        return [.. bytes];
    }

    public static SKBitmap Decode(byte[] encoded) => SKBitmap.Decode(encoded);

    public static SKBitmap Solid(int width, int height)
    {
        var bitmap = new SKBitmap(width, height);
        bitmap.Erase(new SKColor(200, 60, 30));
        return bitmap;
    }

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using (bitmap)
        using (var data = bitmap.Encode(format, 90))
            return data.ToArray();
    }

    /// <summary>A JPEG whose SOF marker claims another size (the scan data stays the original's).</summary>
    static byte[] JpegWithSize(byte[] jpeg, int width, int height)
    {
        var copy = (byte[])jpeg.Clone();
        for (var i = 2; i + 8 < copy.Length; i++)
            if (copy[i] == 0xFF && copy[i + 1] is 0xC0 or 0xC2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 5), (ushort)height);
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 7), (ushort)width);
                return copy;
            }
        throw new InvalidOperationException("no SOF marker");
    }

    /// <summary>A valid PNG signature and IHDR (with its CRC) for a greyscale image of the size, and a one-row IDAT.</summary>
    static byte[] PngHeaderOnly(int width, int height) => Png(width, height, ZLib(new byte[Math.Min(width, 1 << 20) + 1]));

    /// <summary>A real decompression bomb: every row of a width x height greyscale PNG, all zeros, deflated to ~0.1% of its size.</summary>
    static byte[] PngBomb(int width, int height)
    {
        var row = new byte[width + 1];
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            for (var y = 0; y < height; y++)
                z.Write(row);
        return Png(width, height, compressed.ToArray());
    }

    static byte[] ZLib(byte[] raw)
    {
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(raw);
        return compressed.ToArray();
    }

    static byte[] Png(int width, int height, byte[] idat)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth; colour type 0 (greyscale), deflate, filter 0, no interlace
        Chunk(stream, "IHDR", ihdr);
        Chunk(stream, "IDAT", idat);
        Chunk(stream, "IEND", []);
        return stream.ToArray();
    }

    static void Chunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        stream.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        stream.Write(word);
    }

    /// <summary>PNG's CRC-32 (ISO 3309, reflected polynomial 0xEDB88320).</summary>
    static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }
}
