using SkiaSharp;

namespace D2.Detection.Inference;

/// <summary>
/// Text for the visualiser's labels. SkiaSharp's Linux build without fontconfig has no default typeface, and serving
/// images often carry no fonts at all, so this looks for a TrueType font in the usual folders and otherwise draws with a
/// built-in 5x7 pixel font (upper-case letters, digits and a few signs), which always renders.
/// </summary>
internal sealed class LabelFont
{
    static readonly Lazy<LabelFont> SystemFont = new(() => new LabelFont(FindTypeface()));

    readonly SKTypeface? _typeface;

    LabelFont(SKTypeface? typeface) => _typeface = typeface;

    /// <summary>A system font when one can be found, else <see cref="Builtin"/>.</summary>
    public static LabelFont Default => SystemFont.Value;

    /// <summary>The built-in pixel font.</summary>
    public static LabelFont Builtin { get; } = new(null);

    public bool IsBuiltin => _typeface is null;

    /// <summary>Width and height of <paramref name="text"/> at <paramref name="size"/> pixels.</summary>
    public (float Width, float Height) Measure(string text, float size)
    {
        if (_typeface is null)
        {
            var scale = PixelScale(size);
            return (Math.Max(0, text.Length * 6 - 1) * scale, 7 * scale);
        }
        using var font = new SKFont(_typeface, size);
        return (font.MeasureText(text), font.Metrics.Descent - font.Metrics.Ascent);
    }

    /// <summary>Draws <paramref name="text"/> with its top-left corner at (<paramref name="x"/>, <paramref name="top"/>).</summary>
    public void Draw(SKCanvas canvas, string text, float x, float top, float size, SKColor color)
    {
        using var paint = new SKPaint { Color = color, IsAntialias = true };
        if (_typeface is not null)
        {
            using var font = new SKFont(_typeface, size) { Edging = SKFontEdging.Antialias };
            canvas.DrawText(text, x, top - font.Metrics.Ascent, SKTextAlign.Left, font, paint);
            return;
        }
        var scale = PixelScale(size);
        for (var i = 0; i < text.Length; i++)
        {
            var rows = Glyph(text[i]);
            for (var row = 0; row < 7; row++)
            {
                for (var column = 0; column < 5; column++)
                {
                    if ((rows[row] & (0x10 >> column)) != 0)
                        canvas.DrawRect(x + (i * 6 + column) * scale, top + row * scale, scale, scale, paint);
                }
            }
        }
    }

    static float PixelScale(float size) => Math.Max(1, MathF.Round(size / 8));

    static byte[] Glyph(char c)
    {
        var key = char.ToUpperInvariant(c);
        var hex = Glyphs.TryGetValue(key, out var found) ? found : Glyphs['?'];
        return Convert.FromHexString(hex);
    }

    // Rows top to bottom, 5 bits each (0x10 = leftmost column).
    static readonly Dictionary<char, string> Glyphs = new()
    {
        [' '] = "00000000000000", ['?'] = "0E110102040004", ['%'] = "18190204081303", ['.'] = "00000000000C0C",
        ['-'] = "0000001F000000", ['_'] = "0000000000001F", [':'] = "000C0C000C0C00", ['('] = "02040808080402",
        [')'] = "08040202020408", ['/'] = "00010204081000", ['0'] = "0E11131519110E",
        ['1'] = "040C040404040E", ['2'] = "0E11010204081F", ['3'] = "1F02040201110E",
        ['4'] = "02060A121F0202", ['5'] = "1F101E0101110E", ['6'] = "0608101E11110E", ['7'] = "1F010204080808",
        ['8'] = "0E11110E11110E", ['9'] = "0E11110F01020C", ['A'] = "0E11111F111111", ['B'] = "1E11111E11111E",
        ['C'] = "0E11101010110E", ['D'] = "1C12111111121C", ['E'] = "1F10101E10101F", ['F'] = "1F10101E101010",
        ['G'] = "0E11101711110F", ['H'] = "1111111F111111", ['I'] = "0E04040404040E",
        ['J'] = "0702020202120C", ['K'] = "11121418141211", ['L'] = "1010101010101F", ['M'] = "111B1515111111",
        ['N'] = "11111915131111", ['O'] = "0E11111111110E", ['P'] = "1E11111E101010", ['Q'] = "0E11111115120D",
        ['R'] = "1E11111E141211", ['S'] = "0F10100E01011E", ['T'] = "1F040404040404", ['U'] = "1111111111110E",
        ['V'] = "11111111110A04", ['W'] = "1111111515150A", ['X'] = "11110A040A1111",
        ['Y'] = "1111110A040404", ['Z'] = "1F01020408101F",
    };

    static SKTypeface? FindTypeface()
    {
        var fallback = SKTypeface.Default;
        if (fallback.GlyphCount > 0)
            return fallback;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string[] folders =
        [
            "/usr/share/fonts", "/usr/local/share/fonts", Path.Combine(home, ".local/share/fonts"), Path.Combine(home, ".fonts"),
            "/System/Library/Fonts", "/Library/Fonts", Environment.GetFolderPath(Environment.SpecialFolder.Fonts),
        ];
        var files = folders.Where(f => f.Length > 0 && Directory.Exists(f))
            .SelectMany(f => Directory.EnumerateFiles(f, "*.ttf", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
            .ToList();
        // A plain sans-serif reads best at small sizes; prefer the common ones, then any regular sans.
        string[] preferred = ["DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf", "Arial.ttf", "arial.ttf"];
        var ordered = files
            .OrderBy(f => Array.IndexOf(preferred, Path.GetFileName(f)) is var i and >= 0 ? i : preferred.Length)
            .ThenBy(f => Path.GetFileName(f).Contains("Sans", StringComparison.OrdinalIgnoreCase) ? 0 : 1)
            .ThenBy(f => RegularStyle(Path.GetFileName(f)) ? 0 : 1)
            .ThenBy(f => f, StringComparer.Ordinal);
        foreach (var file in ordered)
        {
            var typeface = SKTypeface.FromFile(file);
            if (typeface is { GlyphCount: > 0 })
                return typeface;
            typeface?.Dispose();
        }
        return null;
    }

    static bool RegularStyle(string fileName) =>
        !new[] { "Bold", "Italic", "Oblique", "Mono", "Condensed", "Light" }.Any(s => fileName.Contains(s, StringComparison.OrdinalIgnoreCase));

    public override string ToString() => _typeface is null ? "built-in 5x7" : _typeface.FamilyName;
}
