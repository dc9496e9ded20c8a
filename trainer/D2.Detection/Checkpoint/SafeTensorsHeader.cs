using System.Globalization;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>One tensor's entry in a safetensors header: dtype, shape and [begin, end) byte offsets in the data section.</summary>
internal sealed record SafeTensorsEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

/// <summary>
/// The JSON header of a safetensors file, written byte for byte as the reference (Rust, serde_json) writes it, and read
/// with the reference's validation: offsets contiguous from 0 in offset order, sizes equal to dtype x shape.
/// </summary>
internal static class SafeTensorsHeader
{
    public const string MetadataKey = "__metadata__";

    /// <summary>The reference refuses headers past 100 MB; a larger length means a foreign or corrupt file.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <returns>UTF-8 JSON without spaces, padded with spaces to a multiple of 8 bytes (so the data starts 8-aligned)</returns>
    public static byte[] Serialize(IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        var first = true;
        if (metadata is { Count: > 0 })
        {
            // serde_json writes __metadata__ first; its map order is unspecified there, sorted here for reproducible files.
            json.Append(Quote(MetadataKey)).Append(":{");
            var firstPair = true;
            foreach (var key in metadata.Keys.Order(StringComparer.Ordinal))
            {
                json.Append(firstPair ? "" : ",").Append(Quote(key)).Append(':').Append(Quote(metadata[key]));
                firstPair = false;
            }
            json.Append('}');
            first = false;
        }
        foreach (var entry in entries)
        {
            SafeTensorsDtype.TryToName(entry.DType, out var dtype, out _);
            json.Append(first ? "" : ",").Append(Quote(entry.Name))
                .Append(":{\"dtype\":\"").Append(dtype)
                .Append("\",\"shape\":[").AppendJoin(',', entry.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))
                .Append("],\"data_offsets\":[").Append(entry.Begin.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(entry.End.ToString(CultureInfo.InvariantCulture)).Append("]}");
            first = false;
        }
        json.Append('}');
        var bytes = Encoding.UTF8.GetBytes(json.ToString());
        var padded = (bytes.Length + 7) / 8 * 8;
        var result = new byte[padded];
        bytes.CopyTo(result, 0);
        result.AsSpan(bytes.Length).Fill((byte)' ');
        return result;
    }

    /// <summary>serde_json's string escaping: quote, backslash and control characters; everything else as UTF-8.</summary>
    private static string Quote(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': quoted.Append("\\\""); break;
                case '\\': quoted.Append("\\\\"); break;
                case '\n': quoted.Append("\\n"); break;
                case '\r': quoted.Append("\\r"); break;
                case '\t': quoted.Append("\\t"); break;
                case '\b': quoted.Append("\\b"); break;
                case '\f': quoted.Append("\\f"); break;
                case < ' ': quoted.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: quoted.Append(c); break;
            }
        }
        return quoted.Append('"').ToString();
    }

    /// <summary>Parses and validates a header; every problem is reported against <paramref name="path"/>.</summary>
    /// <param name="dataBytes">bytes after the header in the file, which the tensors must fill exactly</param>
    /// <returns>entries in offset order and the metadata (empty when absent)</returns>
    public static (List<SafeTensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(string path, byte[] header, long dataBytes)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header);
        }
        catch (DecoderFallbackException e)
        {
            throw new CheckpointFormatException(path, "the safetensors header is not valid UTF-8.", e);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, $"the safetensors header is not valid JSON ({e.Message}).", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(path, "the safetensors header is not a JSON object.");
            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw new CheckpointFormatException(path, $"the safetensors header names '{property.Name}' twice.");
                if (property.Name == MetadataKey)
                    ParseMetadata(path, property.Value, metadata);
                else
                    entries.Add(ParseEntry(path, property.Name, property.Value));
            }
            Validate(path, entries, dataBytes);
            return (entries, metadata);
        }
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(path, $"'{MetadataKey}' must be a JSON object of strings.");
        foreach (var pair in value.EnumerateObject())
            metadata[pair.Name] = pair.Value.ValueKind == JsonValueKind.String
                ? pair.Value.GetString()!
                : throw new CheckpointFormatException(path, $"'{MetadataKey}' entry '{pair.Name}' is not a string.");
    }

    private static SafeTensorsEntry ParseEntry(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array)
            throw new CheckpointFormatException(path, $"tensor '{name}' needs \"dtype\" (string), \"shape\" and \"data_offsets\" (arrays).");
        var dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDtype.TryFromName(dtypeName, out var dtype))
            throw new CheckpointFormatException(path, $"tensor '{name}' has dtype '{dtypeName}', which is not supported (supported: {SafeTensorsDtype.SupportedNames}).");
        var shape = shapeElement.EnumerateArray().Select(d => NonNegative(path, name, "shape", d)).ToArray();
        var offsets = offsetsElement.EnumerateArray().Select(d => NonNegative(path, name, "data_offsets", d)).ToArray();
        if (offsets.Length != 2)
            throw new CheckpointFormatException(path, $"tensor '{name}' data_offsets must be [begin, end].");
        return new SafeTensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long NonNegative(string path, string name, string field, JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value) && value >= 0
            ? value
            : throw new CheckpointFormatException(path, $"tensor '{name}' {field} holds '{element.GetRawText()}', not a non-negative integer.");

    private static void Validate(string path, List<SafeTensorsEntry> entries, long dataBytes)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expectedBegin = 0;
        foreach (var entry in entries)
        {
            if (entry.End < entry.Begin)
                throw new CheckpointFormatException(path, $"tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] end before they begin.");
            if (entry.End > dataBytes)
                throw new CheckpointFormatException(path,
                    $"tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] are out of range: only {dataBytes} data bytes follow the header (truncated or corrupt file).");
            if (entry.Begin != expectedBegin)
                throw new CheckpointFormatException(path,
                    $"tensor '{entry.Name}' starts at data offset {entry.Begin}, but tensors must follow each other from offset 0 (expected {expectedBegin}).");
            long needed;
            try
            {
                needed = checked(entry.Shape.Aggregate(1L, (n, d) => n * d) * SafeTensorsDtype.ElementSize(entry.DType));
            }
            catch (OverflowException e)
            {
                throw new CheckpointFormatException(path, $"tensor '{entry.Name}' shape [{string.Join(", ", entry.Shape)}] is too large.", e);
            }
            if (entry.End - entry.Begin != needed)
                throw new CheckpointFormatException(path,
                    $"tensor '{entry.Name}' holds {entry.End - entry.Begin} bytes, but dtype {entry.DType} and shape [{string.Join(", ", entry.Shape)}] need {needed}.");
            expectedBegin = entry.End;
        }
        if (expectedBegin != dataBytes)
            throw new CheckpointFormatException(path,
                $"the header describes {expectedBegin} data bytes, but {dataBytes} follow it.");
    }
}
