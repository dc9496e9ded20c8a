using System.Text.Json;
using D2.Detection.Evaluation;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// One pass of <see cref="Utf8JsonReader"/> over a COCO instances file, in chunks (<see cref="JsonFileWindow"/>), that
/// keeps only what <c>load_coco_json</c> uses: category names, images, and per annotation its ids, box, crowd flag and
/// segmentation (polygons as exact-size <c>double[]</c>, an RLE as a small detached <see cref="JsonElement"/>). No DOM
/// of the file is built, so a 450 MB <c>instances_train2017.json</c> costs its records, not 6× its size.
/// <para>
/// The sections may come in any order (COCO's own files list <c>categories</c> last), so nothing is resolved here:
/// <see cref="CocoJsonDataset"/> maps categories and matches images once the whole file is read. This reader accepts
/// exactly the well-formed files; anything the document reader would reject, or that it reads by a rule this pass
/// does not repeat (a key given twice: the last wins there), makes <see cref="Read"/> return null so that reader runs
/// and reports it in its own words. An annotation whose fields are malformed is only marked: the document reader
/// rejects it only when its image is listed.
/// </para>
/// </summary>
internal sealed partial class CocoJsonStream
{
    /// <summary>1 MiB: large enough that re-reading the one element cut by each refill costs nothing measurable.</summary>
    public const int DefaultBufferSize = 1 << 20;

    enum Step { Progress, NeedMore, Unsupported, Finished }

    enum Place { BeforeRoot, InRoot, InCategories, InImages, InAnnotations, AfterRoot }

    Place _place;
    bool _sawAnnotations;

    CocoJsonStream() { }

    /// <summary><c>categories</c> by id (a repeated id keeps its last name, as pycocotools' index does); null when absent.</summary>
    public Dictionary<int, string>? CategoryNames { get; private set; }

    /// <summary><c>images</c> by id (a repeated id keeps its last entry); null when absent, i.e. not a COCO file.</summary>
    public Dictionary<long, CocoImage>? Images { get; private set; }

    /// <summary><c>annotations</c> in file order; empty when absent or null.</summary>
    public ChunkedList<CocoRawAnnotation> Annotations { get; } = new();

    /// <summary>Reads the file.</summary>
    /// <param name="path">the json file</param>
    /// <param name="bufferSize">the reader's first buffer size (tests make it tiny so every token is cut somewhere)</param>
    /// <param name="report">the buffer size reached (it grows for an element larger than the buffer) and whether a
    /// second thread read the second half of the annotations</param>
    /// <param name="splitFrom">files of at least this many bytes have their annotations read by two threads
    /// (<see cref="AnnotationsTail"/>); 64 buffers by default</param>
    /// <returns>the file's content, or null when the document reader must read the file (a missing or unreadable file,
    /// a root that is not an object, a malformed category or image, a repeated key, ...).</returns>
    /// <exception cref="CocoFormatException">the file is not valid JSON (line and position as the document reader gives them).</exception>
    public static CocoJsonStream? Read(string path, int bufferSize, out (int BufferUsed, bool Split) report, long? splitFrom = null)
    {
        report = (0, false);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        using var window = new JsonFileWindow(stream, bufferSize, CocoJson.ReaderOptions);
        var content = new CocoJsonStream();
        AnnotationsTail? tail = null;
        var jumped = false;
        try
        {
            tail = AnnotationsTail.TryStart(path, splitFrom ?? 64L * bufferSize);
            if (!window.Fill())
                return null;
            while (true)
            {
                var reader = window.Reader();
                Step step;
                long consumed;
                JsonReaderState state;
                var meetsTail = false;
                while (true)
                {
                    consumed = reader.BytesConsumed;
                    state = reader.CurrentState;
                    if (tail is not null && content.MeetsTail(window.OffsetOf(consumed), ref tail))
                    {
                        meetsTail = true;
                        step = Step.NeedMore;
                        break;
                    }
                    step = content.Advance(ref reader);
                    if (step != Step.Progress)
                        break;
                }
                report.BufferUsed = Math.Max(report.BufferUsed, window.BufferSize);
                if (step == Step.Finished)
                    return content;
                if (step == Step.Unsupported)
                    return null;
                window.Commit(consumed, state);
                if (meetsTail)
                {
                    // The main pass stands exactly where the tail began, between two annotations: the guess was right.
                    var finished = tail!;
                    tail = null;
                    if (finished.Join())
                    {
                        content.Annotations.AddRange(finished.Content.Annotations);
                        window.Seek(finished.End, InsideAnnotationsArray());
                        jumped = true;
                        report.Split = true;
                        if (!window.Fill())
                            return null;
                    }
                    continue;
                }
                if (!window.Fill())
                    return null; // the reader asked for more after the last byte; the document reader names what is missing
            }
        }
        catch (JsonException e) when (!jumped)
        {
            throw CocoJson.InvalidJson(e, path);
        }
        catch (JsonException)
        {
            // After a jump the reader's line count restarted: the document reader gives the true line and position.
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // A read failing midway, or a string that is not valid UTF-8: the document reader reports both.
            return null;
        }
        finally
        {
            tail?.Cancel();
        }
    }

    /// <summary>Whether the main pass, at file offset <paramref name="offset"/>, has reached the tail's start at an
    /// element boundary of <c>annotations</c>; drops the tail once that can no longer happen.</summary>
    bool MeetsTail(long offset, ref AnnotationsTail? tail)
    {
        if (_place != Place.InAnnotations)
        {
            // Annotations after the tail's start, or the section already read: the guess was not a boundary.
            if (_place is Place.InRoot or Place.AfterRoot && _sawAnnotations || offset > tail!.Start)
                Drop(ref tail);
            return false;
        }
        if (offset == tail!.Start)
            return true;
        if (offset > tail.Start)
            Drop(ref tail);
        return false;
    }

    static void Drop(ref AnnotationsTail? tail)
    {
        tail?.Cancel();
        tail = null;
    }

    /// <summary>Reads one unit: the root's start, one top-level property (a section's opening bracket, or a whole
    /// other value), one section element, or the end. State changes only when the unit is complete.</summary>
    Step Advance(ref Utf8JsonReader reader)
    {
        switch (_place)
        {
            case Place.BeforeRoot:
                if (!reader.Read())
                    return Step.NeedMore;
                if (reader.TokenType != JsonTokenType.StartObject)
                    return Step.Unsupported;
                _place = Place.InRoot;
                return Step.Progress;
            case Place.InRoot:
                return ReadRootProperty(ref reader);
            case Place.AfterRoot:
                // The reader throws on anything but white space after the root value.
                if (reader.Read())
                    return Step.Unsupported;
                return reader.IsFinalBlock ? Step.Finished : Step.NeedMore;
            default:
                if (!reader.Read())
                    return Step.NeedMore;
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    _place = Place.InRoot;
                    return Step.Progress;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                    return Step.Unsupported;
                return _place switch
                {
                    Place.InCategories => ReadCategory(ref reader),
                    Place.InImages => ReadImage(ref reader),
                    _ => ReadAnnotation(ref reader),
                };
        }
    }

    Step ReadRootProperty(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
            return Step.NeedMore;
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            _place = Place.AfterRoot;
            return Step.Progress;
        }
        Place? section = reader.ValueTextEquals("annotations"u8) ? Place.InAnnotations
            : reader.ValueTextEquals("images"u8) ? Place.InImages
            : reader.ValueTextEquals("categories"u8) ? Place.InCategories
            : null;
        if (section is null)
            return reader.TrySkip() ? Step.Progress : Step.NeedMore;
        var seen = section switch
        {
            Place.InCategories => CategoryNames is not null,
            Place.InImages => Images is not null,
            _ => _sawAnnotations,
        };
        if (seen)
            return Step.Unsupported;
        if (!reader.Read())
            return Step.NeedMore;
        if (reader.TokenType == JsonTokenType.Null && section == Place.InAnnotations)
        {
            // "annotations": null is no annotations (CocoJson.Optional); null images or categories are errors.
            _sawAnnotations = true;
            return Step.Progress;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
            return Step.Unsupported;
        switch (section)
        {
            case Place.InCategories:
                CategoryNames = [];
                break;
            case Place.InImages:
                Images = [];
                break;
            default:
                _sawAnnotations = true;
                break;
        }
        _place = section.Value;
        return Step.Progress;
    }

    Step ReadCategory(ref Utf8JsonReader reader)
    {
        int? id = null;
        string? name = null;
        while (true)
        {
            if (!reader.Read())
                return Step.NeedMore;
            if (reader.TokenType == JsonTokenType.EndObject)
                break;
            if (reader.ValueTextEquals("id"u8))
            {
                if (id is not null)
                    return Step.Unsupported;
                if (!reader.Read())
                    return Step.NeedMore;
                if (!TryInt(ref reader, out var value))
                    return Step.Unsupported;
                id = value;
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                if (name is not null)
                    return Step.Unsupported;
                if (!reader.Read())
                    return Step.NeedMore;
                if (reader.TokenType != JsonTokenType.String)
                    return Step.Unsupported;
                name = reader.GetString()!;
            }
            else if (!reader.TrySkip())
                return Step.NeedMore;
        }
        if (id is null || name is null)
            return Step.Unsupported;
        CategoryNames![id.Value] = name;
        return Step.Progress;
    }

    Step ReadImage(ref Utf8JsonReader reader)
    {
        long? id = null;
        string? fileName = null;
        int? height = null, width = null;
        while (true)
        {
            if (!reader.Read())
                return Step.NeedMore;
            if (reader.TokenType == JsonTokenType.EndObject)
                break;
            var field = reader.ValueTextEquals("id"u8) ? 0
                : reader.ValueTextEquals("file_name"u8) ? 1
                : reader.ValueTextEquals("height"u8) ? 2
                : reader.ValueTextEquals("width"u8) ? 3
                : -1;
            if (field < 0)
            {
                if (!reader.TrySkip())
                    return Step.NeedMore;
                continue;
            }
            var repeated = field switch { 0 => id is not null, 1 => fileName is not null, 2 => height is not null, _ => width is not null };
            if (repeated)
                return Step.Unsupported;
            if (!reader.Read())
                return Step.NeedMore;
            switch (field)
            {
                case 0 when TryId(ref reader, out var value):
                    id = value;
                    break;
                case 1 when reader.TokenType == JsonTokenType.String && reader.GetString() is { Length: > 0 } name:
                    fileName = name;
                    break;
                case 2 when TryInt(ref reader, out var value):
                    height = value;
                    break;
                case 3 when TryInt(ref reader, out var value):
                    width = value;
                    break;
                default:
                    return Step.Unsupported;
            }
        }
        if (id is null || fileName is null || height is null || width is null)
            return Step.Unsupported;
        Images![id.Value] = new CocoImage(id.Value, fileName, height.Value, width.Value);
        return Step.Progress;
    }

    /// <summary><see cref="CocoJson.Id"/>: an integral JSON number; 3.0 is accepted as 3.</summary>
    static bool TryId(ref Utf8JsonReader reader, out long id)
    {
        id = 0;
        if (reader.TokenType != JsonTokenType.Number)
            return false;
        if (reader.TryGetInt64(out id))
            return true;
        if (reader.TryGetDouble(out var real) && real == Math.Floor(real) && Math.Abs(real) < 9e15)
        {
            id = (long)real;
            return true;
        }
        return false;
    }

    /// <summary><see cref="CocoJson.Int"/>: an id in [0, int.MaxValue].</summary>
    static bool TryInt(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        if (!TryId(ref reader, out var id) || id is < 0 or > int.MaxValue)
            return false;
        value = (int)id;
        return true;
    }
}

/// <summary>An entry of <c>images</c>.</summary>
internal sealed record CocoImage(long Id, string FileName, int Height, int Width);
