using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using D2.Detection.Data;
using D2.Detection.Inference;
using SkiaSharp;

namespace D2.Serving;

/// <summary>How the answer is shaped: one object, a JSON list (<c>{"images": [...]}</c>), or one line per input line (jsonlines).</summary>
internal enum ResponseShape
{
    Single,
    List,
    Lines,
}

/// <summary>
/// The images of an /invocations body, by Content-Type: encoded image bytes (image/*, application/x-image,
/// application/octet-stream), an .npy array (application/x-npy), JSON <c>{"image": "&lt;base64&gt;"}</c> or
/// <c>{"images": ["&lt;base64&gt;", ...]}</c> (application/json), or batch transform's application/jsonlines with one
/// such record per line (MultiRecord). Every image goes through training's decoder (<see cref="ImageDecoder"/>).
/// </summary>
internal static class RequestPayload
{
    public static readonly string[] ImageTypes = ["application/x-image", "application/octet-stream"];
    public const string Npy = "application/x-npy";
    public const string Json = "application/json";
    public static readonly string[] JsonLinesTypes = ["application/jsonlines", "application/x-jsonlines", "application/jsonl"];

    public static bool IsSupported(string contentType) =>
        contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase) || Is(contentType, ImageTypes) || Is(contentType, [Npy, Json]) || Is(contentType, JsonLinesTypes);

    public static ResponseShape ShapeOf(string contentType, ReadOnlySpan<byte> body) =>
        Is(contentType, JsonLinesTypes) ? ResponseShape.Lines
        : Is(contentType, [Json]) && LooksLikeList(body) ? ResponseShape.List
        : ResponseShape.Single;

    /// <summary>
    /// Checks the body's structure (JSON, base64, record count) and returns one decoder per image, so that the caller can
    /// hand each image to the model as soon as it is decoded (the first record's forward pass overlaps the next one's
    /// decoding); each decoder returns a bitmap the caller disposes.
    /// </summary>
    /// <param name="inputFormat">INPUT.FORMAT, the channel order of .npy arrays</param>
    /// <param name="strategy">SINGLE_RECORD takes one jsonlines record per request</param>
    /// <exception cref="ClientInputException">the body is not what its Content-Type says (4xx with the reason); the decoders
    /// throw it too when an image cannot be read</exception>
    public static List<Func<SKBitmap>> Parse(string contentType, ReadOnlyMemory<byte> body, string inputFormat, int maxImages,
        BatchStrategy strategy = BatchStrategy.MultiRecord)
    {
        if (Is(contentType, [Npy]))
            return [() => FromNpy(body.Span, inputFormat)];
        if (Is(contentType, [Json]))
            return FromJsonRecord(body.Span, "The JSON body", maxImages, allowList: true);
        if (Is(contentType, JsonLinesTypes))
            return FromJsonLines(body.Span, maxImages, strategy);
        return [() => DecodeEncoded(body.Span, "The request body")];
    }

    static bool Is(string contentType, string[] types) => types.Contains(contentType, StringComparer.OrdinalIgnoreCase);

    static SKBitmap DecodeEncoded(ReadOnlySpan<byte> bytes, string what)
    {
        try
        {
            var (rgba, height, width) = ImageDecoder.DecodeRgba(bytes, what);
            return ToBitmap(rgba, height, width);
        }
        catch (ImageDecodeException e)
        {
            throw new ClientInputException(StatusCodes.Status400BadRequest, $"{what} is not a readable image: {e.Message}");
        }
    }

    static SKBitmap FromNpy(ReadOnlySpan<byte> body, string inputFormat)
    {
        var (pixels, height, width) = NpyImage.Parse(body, ImageDecoder.MaxImagePixels);
        var bgr = inputFormat == "BGR";
        var rgba = new byte[(long)height * width * 4];
        for (long i = 0, o = 0; i < pixels.LongLength; i += 3, o += 4)
        {
            rgba[o] = pixels[bgr ? i + 2 : i];
            rgba[o + 1] = pixels[i + 1];
            rgba[o + 2] = pixels[bgr ? i : i + 2];
            rgba[o + 3] = 255;
        }
        return ToBitmap(rgba, height, width);
    }

    static SKBitmap ToBitmap(byte[] rgba, int height, int width)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    static bool LooksLikeList(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("images"u8))
                    return true;
                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return false;
    }

    static List<Func<SKBitmap>> FromJsonRecord(ReadOnlySpan<byte> json, string what, int maxImages, bool allowList)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new ClientInputException(StatusCodes.Status400BadRequest, $"{what} is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            var expected = allowList ? "{\"image\": \"<base64>\"} or {\"images\": [\"<base64>\", ...]}" : "{\"image\": \"<base64>\"}";
            if (root.ValueKind != JsonValueKind.Object)
                throw new ClientInputException(StatusCodes.Status400BadRequest, $"{what} must be an object {expected}, not a JSON {root.ValueKind.ToString().ToLowerInvariant()}.");
            if (root.TryGetProperty("image", out var image))
                return [FromBase64(image, $"{what}'s \"image\"")];
            if (allowList && root.TryGetProperty("images", out var images))
            {
                if (images.ValueKind != JsonValueKind.Array || images.GetArrayLength() == 0)
                    throw new ClientInputException(StatusCodes.Status400BadRequest, $"{what}'s \"images\" must be a non-empty list of base64 strings.");
                if (images.GetArrayLength() > maxImages)
                    throw new ClientInputException(StatusCodes.Status400BadRequest, $"{what} has {images.GetArrayLength()} images; one request takes at most {maxImages} (D2_MAX_QUEUE).");
                var index = 0;
                return images.EnumerateArray().Select(item => FromBase64(item, $"{what}'s \"images\"[{index++}]")).ToList();
            }
            throw new ClientInputException(StatusCodes.Status400BadRequest, $"{what} has no \"image\" field: send {expected}.");
        }
    }

    static Func<SKBitmap> FromBase64(JsonElement value, string what)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw new ClientInputException(StatusCodes.Status400BadRequest, $"{what} must be a base64 string of the image file's bytes, not a JSON {value.ValueKind.ToString().ToLowerInvariant()}.");
        if (!value.TryGetBytesFromBase64(out var bytes))
            throw new ClientInputException(StatusCodes.Status400BadRequest, $"{what} is not valid base64.");
        return () => DecodeEncoded(bytes, what);
    }

    static List<Func<SKBitmap>> FromJsonLines(ReadOnlySpan<byte> body, int maxImages, BatchStrategy strategy)
    {
        var lines = Encoding.UTF8.GetString(body).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == 0)
            throw new ClientInputException(StatusCodes.Status400BadRequest, "The jsonlines body has no records: send one {\"image\": \"<base64>\"} per line.");
        if (strategy == BatchStrategy.SingleRecord && lines.Count > 1)
            throw new ClientInputException(StatusCodes.Status400BadRequest,
                $"The jsonlines body has {lines.Count} records but SAGEMAKER_BATCH_STRATEGY is SINGLE_RECORD (one record per request): " +
                "split the input by line (SplitType Line) or use MultiRecord.");
        if (lines.Count > maxImages)
            throw new ClientInputException(StatusCodes.Status400BadRequest, $"The jsonlines body has {lines.Count} records; one request takes at most {maxImages} (D2_MAX_QUEUE); lower MaxPayloadInMB.");
        var decoders = new List<Func<SKBitmap>>();
        for (var i = 0; i < lines.Count; i++)
            decoders.AddRange(FromJsonRecord(Encoding.UTF8.GetBytes(lines[i]), $"Line {i + 1}", 1, allowList: false));
        return decoders;
    }
}
