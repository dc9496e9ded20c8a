using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace D2.Serving;

/// <summary>
/// An image sent as NumPy's .npy format (application/x-npy, what <c>np.save</c> writes and the original project's clients
/// send): an (H, W, 3) uint8 array, C order, channels in the config's INPUT.FORMAT. The header is parsed as NumPy's
/// format spec says (magic, version 1.0/2.0/3.0, little-endian header length, a Python dict literal with descr,
/// fortran_order and shape) and checked against the data length; anything else is refused with the reason.
/// </summary>
internal static partial class NpyImage
{
    /// <summary>The HWC pixels and size; the pixel buffer is a copy.</summary>
    /// <exception cref="ClientInputException">not an .npy file (400), not uint8 (415), not (H, W, 3) C order, or a wrong length (400)</exception>
    public static (byte[] Pixels, int Height, int Width) Parse(ReadOnlySpan<byte> bytes, long maxPixels)
    {
        // "\x93NUMPY" as a C# u8 literal is UTF-8 (0xC2 0x93 ...): compare the bytes NumPy writes.
        if (bytes.Length < 10 || bytes[0] != 0x93 || !bytes[1..6].SequenceEqual("NUMPY"u8))
            throw Bad("it does not start with the .npy magic bytes \\x93NUMPY (write it with numpy.save)");
        int major = bytes[6], minor = bytes[7];
        if (major is not (1 or 2 or 3) || minor != 0)
            throw Bad($"format version {major}.{minor} is not one of NumPy's 1.0, 2.0, 3.0");
        int headerStart = major == 1 ? 10 : 12;
        if (bytes.Length < headerStart)
            throw Bad("the file ends inside the header length");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (headerStart + headerLength > bytes.Length)
            throw Bad($"the header claims {headerLength} bytes but the file has {bytes.Length - headerStart} after the preamble");
        // Version 3.0 allows UTF-8 in the header; 1.0 and 2.0 are latin-1 (ASCII in practice).
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes.Slice(headerStart, (int)headerLength));

        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw Bad($"the header {Quote(header)} is not a dict with 'descr', 'fortran_order' and 'shape'");
        var dtype = descr.Groups[1].Value;
        if (dtype is not ("|u1" or "<u1" or ">u1" or "u1"))
            throw new ClientInputException(StatusCodes.Status415UnsupportedMediaType,
                $"The .npy array has dtype '{dtype}'; send uint8 pixels ('|u1', numpy.uint8), shaped (H, W, 3).");
        if (fortran.Groups[1].Value != "False")
            throw Bad("the array is in Fortran order; send a C-ordered array (numpy.ascontiguousarray)");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var sizes = new long[dims.Length];
        for (var i = 0; i < dims.Length; i++)
            if (!long.TryParse(dims[i].TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]))
                throw Bad($"the shape ({shape.Groups[1].Value}) is not a tuple of integers");
        if (sizes.Length != 3 || sizes[2] != 3)
            throw Bad($"the array's shape is ({shape.Groups[1].Value}); an image is (H, W, 3) in the model's INPUT.FORMAT channel order");
        if (sizes[0] <= 0 || sizes[1] <= 0)
            throw Bad($"the image is empty ({sizes[0]}x{sizes[1]})");
        if (sizes[0] > int.MaxValue || sizes[1] > int.MaxValue || sizes[0] * sizes[1] > maxPixels)
            throw Bad($"the image is {sizes[1]}x{sizes[0]} = {sizes[0] * sizes[1]:N0} pixels, over the limit of {maxPixels:N0} (D2_MAX_IMAGE_PIXELS)");
        var data = bytes[(headerStart + (int)headerLength)..];
        var expected = sizes[0] * sizes[1] * 3;
        if (data.Length != expected)
            throw Bad($"the shape ({sizes[0]}, {sizes[1]}, 3) needs {expected:N0} bytes of data but {data.Length:N0} follow the header");
        return (data.ToArray(), (int)sizes[0], (int)sizes[1]);
    }

    static ClientInputException Bad(string reason) =>
        new(StatusCodes.Status400BadRequest, $"The request body is not a readable .npy image: {reason}.");

    static string Quote(string header) => header.Length <= 120 ? $"'{header.Trim()}'" : $"'{header[..120]}...'";

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
