using System.Text.Json;

namespace D2.Detection.Data.Datasets;

internal sealed partial class CocoJsonStream
{
    // Reused across annotations: coordinates are gathered here, then copied once into an exact-size array.
    double[] _coordinates = new double[64];
    readonly List<double[]> _polygons = [];

    /// <summary>The fields of an annotation object, for telling a repeated key (which the document reader resolves) apart.</summary>
    [Flags]
    enum Field { None = 0, Id = 1, ImageId = 2, CategoryId = 4, Bbox = 8, IsCrowd = 16, Ignore = 32, Segmentation = 64 }

    static Field FieldOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("segmentation"u8) ? Field.Segmentation
        : reader.ValueTextEquals("bbox"u8) ? Field.Bbox
        : reader.ValueTextEquals("id"u8) ? Field.Id
        : reader.ValueTextEquals("image_id"u8) ? Field.ImageId
        : reader.ValueTextEquals("category_id"u8) ? Field.CategoryId
        : reader.ValueTextEquals("iscrowd"u8) ? Field.IsCrowd
        : reader.ValueTextEquals("ignore"u8) ? Field.Ignore
        : Field.None;

    /// <summary>
    /// One annotation. <c>id</c> and <c>image_id</c> are checked for every annotation by the document reader, so a
    /// problem there is <see cref="Step.Unsupported"/>; the other fields are checked only for annotations of listed
    /// images, so a problem there marks <see cref="CocoRawAnnotation.Invalid"/>.
    /// </summary>
    Step ReadAnnotation(ref Utf8JsonReader reader)
    {
        var annotation = new CocoRawAnnotation();
        var seen = Field.None;
        while (true)
        {
            if (!reader.Read())
                return Step.NeedMore;
            if (reader.TokenType == JsonTokenType.EndObject)
                break;
            var field = FieldOf(ref reader);
            if ((seen & field) != 0)
                return Step.Unsupported;
            seen |= field;
            if (!reader.Read())
                return Step.NeedMore;
            var step = field switch
            {
                Field.Id => TryId(ref reader, out annotation.Id) ? Step.Progress : Step.Unsupported,
                Field.ImageId => TryId(ref reader, out annotation.ImageId) ? Step.Progress : Step.Unsupported,
                Field.CategoryId => TryId(ref reader, out annotation.CategoryId) ? Step.Progress : MarkInvalid(ref reader, ref annotation),
                Field.Bbox => ReadBox(ref reader, ref annotation),
                Field.IsCrowd => ReadIsCrowd(ref reader, ref annotation),
                Field.Ignore => ReadIgnore(ref reader, ref annotation),
                Field.Segmentation => ReadSegmentation(ref reader, ref annotation),
                _ => reader.TrySkip() ? Step.Progress : Step.NeedMore,
            };
            if (step != Step.Progress)
                return step;
        }
        if ((seen & (Field.Id | Field.ImageId)) != (Field.Id | Field.ImageId))
            return Step.Unsupported;
        if ((seen & (Field.CategoryId | Field.Bbox)) != (Field.CategoryId | Field.Bbox))
            annotation.Invalid = true;
        Annotations.Add(annotation);
        return Step.Progress;
    }

    /// <summary>Marks the annotation unusable and steps over the offending value (an object or array as a whole).</summary>
    static Step MarkInvalid(ref Utf8JsonReader reader, ref CocoRawAnnotation annotation)
    {
        annotation.Invalid = true;
        return reader.TrySkip() ? Step.Progress : Step.NeedMore;
    }

    /// <summary>COCO's [x, y, width, height]: exactly four numbers.</summary>
    static Step ReadBox(ref Utf8JsonReader reader, ref CocoRawAnnotation annotation)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            return MarkInvalid(ref reader, ref annotation);
        Span<double> box = stackalloc double[4];
        var count = 0;
        while (true)
        {
            if (!reader.Read())
                return Step.NeedMore;
            if (reader.TokenType == JsonTokenType.EndArray)
                break;
            if (reader.TokenType == JsonTokenType.Number && JsonNumbers.TryGetDouble(ref reader, out var value))
            {
                if (count < 4)
                    box[count] = value;
                count++;
            }
            else if (MarkInvalid(ref reader, ref annotation) == Step.NeedMore)
                return Step.NeedMore;
        }
        if (count != 4)
            annotation.Invalid = true;
        (annotation.X, annotation.Y, annotation.Width, annotation.Height) = (box[0], box[1], box[2], box[3]);
        return Step.Progress;
    }

    /// <summary><see cref="Evaluation.CocoJson.Flag"/>: 0/1 or a boolean; null is absent.</summary>
    static Step ReadIsCrowd(ref Utf8JsonReader reader, ref CocoRawAnnotation annotation)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return Step.Progress;
            case JsonTokenType.True or JsonTokenType.False:
                annotation.IsCrowd = reader.TokenType == JsonTokenType.True;
                return Step.Progress;
            case JsonTokenType.Number when reader.TryGetDouble(out var value):
                annotation.IsCrowd = value != 0;
                return Step.Progress;
            default:
                return MarkInvalid(ref reader, ref annotation);
        }
    }

    /// <summary>Detectron2 refuses <c>"ignore"</c> other than 0; null is absent.</summary>
    static Step ReadIgnore(ref Utf8JsonReader reader, ref CocoRawAnnotation annotation)
    {
        if (reader.TokenType == JsonTokenType.Null || reader.TokenType == JsonTokenType.Number && JsonNumbers.TryGetDouble(ref reader, out var value) && value == 0)
            return Step.Progress;
        return MarkInvalid(ref reader, ref annotation);
    }

    /// <summary>Polygons (a list of coordinate lists) or an RLE object; null is absent.</summary>
    Step ReadSegmentation(ref Utf8JsonReader reader, ref CocoRawAnnotation annotation)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return Step.Progress;
            case JsonTokenType.StartObject:
            {
                // RLEs are few (crowd regions) and need the image size, known only at the end: keep the object itself.
                var probe = reader;
                if (!probe.TrySkip())
                    return Step.NeedMore;
                annotation.Segmentation = new CocoRleSegmentation(JsonElement.ParseValue(ref reader));
                return Step.Progress;
            }
            case JsonTokenType.StartArray:
                return ReadPolygons(ref reader, ref annotation);
            default:
                annotation.Invalid = true;
                return Step.Progress;
        }
    }

    /// <summary>Keeps the polygons Detectron2 keeps: an even number of coordinates, at least 6.</summary>
    Step ReadPolygons(ref Utf8JsonReader reader, ref CocoRawAnnotation annotation)
    {
        _polygons.Clear();
        var any = false;
        while (true)
        {
            if (!reader.Read())
                return Step.NeedMore;
            if (reader.TokenType == JsonTokenType.EndArray)
                break;
            any = true;
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                if (MarkInvalid(ref reader, ref annotation) == Step.NeedMore)
                    return Step.NeedMore;
                continue;
            }
            var count = 0;
            while (true)
            {
                if (!reader.Read())
                    return Step.NeedMore;
                if (reader.TokenType == JsonTokenType.EndArray)
                    break;
                if (reader.TokenType == JsonTokenType.Number && JsonNumbers.TryGetDouble(ref reader, out var value))
                {
                    if (count == _coordinates.Length)
                        Array.Resize(ref _coordinates, count * 2);
                    _coordinates[count++] = value;
                }
                else if (MarkInvalid(ref reader, ref annotation) == Step.NeedMore)
                    return Step.NeedMore;
            }
            if (count % 2 == 0 && count >= 6)
                _polygons.Add(_coordinates.AsSpan(0, count).ToArray());
        }
        // An empty list is "no segmentation" in Detectron2 (`if segm:`); a list without a valid polygon drops the annotation.
        if (!any)
            return Step.Progress;
        if (_polygons.Count == 0)
            annotation.NoValidPolygon = true;
        else
            annotation.Segmentation = _polygons.ToArray();
        return Step.Progress;
    }
}

/// <summary>An entry of <c>annotations</c> as read, before categories and images are known.</summary>
internal struct CocoRawAnnotation
{
    public long Id;
    public long ImageId;
    public long CategoryId;
    public double X, Y, Width, Height;
    public bool IsCrowd;

    /// <summary>A field the document reader rejects for an annotation of a listed image (and ignores otherwise).</summary>
    public bool Invalid;

    /// <summary>A non-empty polygon list without one valid polygon: Detectron2 drops the annotation.</summary>
    public bool NoValidPolygon;

    /// <summary>Valid polygons (<c>double[][]</c>), a <see cref="CocoRleSegmentation"/>, or null.</summary>
    public object? Segmentation;
}

/// <summary>An RLE segmentation object, detached from the file's buffer.</summary>
internal sealed record CocoRleSegmentation(JsonElement Element);
