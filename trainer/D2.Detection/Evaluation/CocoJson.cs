using System.Text.Json;

namespace D2.Detection.Evaluation;

/// <summary>Reads the pieces of COCO JSON files, turning every problem into a <see cref="CocoFormatException"/>
/// that names the source and the element (e.g. <c>annotations[3].bbox</c>).</summary>
internal readonly struct CocoJson(string source)
{
    public string Source { get; } = source;

    public static JsonDocument ParseFile(string path)
    {
        if (!File.Exists(path))
            throw new CocoFormatException(path, Directory.Exists(path) ? "is a directory, not a JSON file" : "file not found");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CocoFormatException(path, $"cannot be read: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string source)
    {
        try
        {
            return JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = ReaderOptions.MaxDepth });
        }
        catch (JsonException e)
        {
            throw InvalidJson(e, source);
        }
    }

    /// <summary>A syntax error of the reader, in the words every COCO reader uses (the streaming loader too).</summary>
    public static CocoFormatException InvalidJson(JsonException e, string source)
    {
        // System.Text.Json counts lines and bytes from 0; editors count from 1.
        var line = (e.LineNumber ?? 0) + 1;
        var column = (e.BytePositionInLine ?? 0) + 1;
        var reason = e.Message;
        var cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0)
            reason = reason[..cut];
        return new CocoFormatException(source, $"is not valid JSON (line {line}, position {column}): {reason}", e);
    }

    /// <summary>The options of <see cref="Parse"/> as reader options, so a streaming reader accepts exactly the same files.</summary>
    public static JsonReaderOptions ReaderOptions => new() { MaxDepth = 256 };

    public CocoFormatException Error(string problem) => new(Source, problem);

    public JsonElement Required(JsonElement owner, string name, string where)
    {
        if (owner.ValueKind != JsonValueKind.Object)
            throw Error($"{where} must be a JSON object, found {Describe(owner)}");
        if (!owner.TryGetProperty(name, out var value))
            throw Error($"{where} has no \"{name}\" field");
        return value;
    }

    public static JsonElement? Optional(JsonElement owner, string name) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    public JsonElement.ArrayEnumerator Array(JsonElement value, string where) =>
        value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : throw Error($"{where} must be a JSON array, found {Describe(value)}");

    /// <summary>An id: an integral JSON number (COCO ids are integers; 3.0 is accepted as 3).</summary>
    public long Id(JsonElement value, string where)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt64(out var id))
                return id;
            if (value.TryGetDouble(out var real) && real == Math.Floor(real) && Math.Abs(real) < 9e15)
                return (long)real;
        }
        throw Error($"{where} must be an integer id, found {Describe(value)}");
    }

    public double Number(JsonElement value, string where) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Error($"{where} must be a number, found {Describe(value)}");

    public int Int(JsonElement value, string where)
    {
        var id = Id(value, where);
        return id is >= 0 and <= int.MaxValue ? (int)id : throw Error($"{where} must be a non-negative integer, found {id}");
    }

    public bool Flag(JsonElement value, string where) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => Number(value, where) != 0,
        _ => throw Error($"{where} must be 0/1 or a boolean, found {Describe(value)}"),
    };

    public double[] Numbers(JsonElement value, string where)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw Error($"{where} must be an array of numbers, found {Describe(value)}");
        var numbers = new double[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            numbers[i] = Number(item, $"{where}[{i}]");
            i++;
        }
        return numbers;
    }

    /// <summary>A COCO box [x, y, width, height].</summary>
    public double[] Box(JsonElement value, string where)
    {
        var box = Numbers(value, where);
        return box.Length == 4 ? box : throw Error($"{where} must be [x, y, width, height], found {box.Length} numbers");
    }

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string \"{Shorten(value.GetString() ?? "")}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => "null",
    };

    static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
