using D2.Detection.Structures;

namespace D2.Detection.Data.Datasets;

public static partial class CocoJsonDataset
{
    /// <summary>Loads a COCO file in one streaming pass, with the document reader's results and log lines.</summary>
    /// <param name="bufferSize">the reader's first buffer (tests shrink it to cut tokens at every position)</param>
    /// <param name="splitFrom">the file size from which two threads read the annotations (tests force or forbid it)</param>
    /// <returns>null when the file is not COCO json (no top-level <c>images</c>: the catalog then tries VIA) or when
    /// the document reader must read it, to report a problem in its words or to apply a rule this pass leaves to it.</returns>
    /// <exception cref="DatasetException">the file is not valid JSON (line and position as the document reader gives them).</exception>
    internal static (List<DatasetRecord> Records, DatasetMetadata Metadata)? TryLoadStreaming(string jsonFile, string imageRoot, string datasetName,
        TextWriter? log, int bufferSize = CocoJsonStream.DefaultBufferSize, long? splitFrom = null)
    {
        var content = DatasetJsonFile.Translate(() => CocoJsonStream.Read(jsonFile, bufferSize, out _, splitFrom));
        return content is null ? null : Resolve(content, jsonFile, imageRoot, datasetName, new DatasetLog(log));
    }

    /// <summary>
    /// <see cref="Read"/>'s rules on the streamed content: annotations of unlisted images are counted and skipped, the
    /// rest are checked (unique ids, usable fields, a known category, a usable RLE) and mapped. Nothing is logged until
    /// every check passed, so a hand-over to the document reader never repeats a warning.
    /// </summary>
    static (List<DatasetRecord>, DatasetMetadata)? Resolve(CocoJsonStream content, string source, string imageRoot, string datasetName, DatasetLog log)
    {
        if (content.CategoryNames is not { } names || content.Images is not { } images)
            return null;
        var (thingClasses, idMap, remapped) = MapCategories(names, datasetName);
        var total = content.Annotations.Count;
        var perImage = new Dictionary<long, List<DatasetAnnotation>>(images.Count);
        var annotationIds = new HashSet<long>(total);
        var repeatedIdsAllowed = source.Contains("minival", StringComparison.Ordinal);
        var withoutValidSegmentation = new List<long>();
        var matched = 0;
        foreach (var chunk in content.Annotations.Chunks())
        {
            foreach (ref readonly var annotation in chunk.Span)
            {
                if (!images.TryGetValue(annotation.ImageId, out var image))
                    continue;
                matched++;
                if (!annotationIds.Add(annotation.Id) && !repeatedIdsAllowed
                    || annotation.Invalid
                    || annotation.CategoryId is < int.MinValue or > int.MaxValue
                    || !idMap.TryGetValue((int)annotation.CategoryId, out var contiguous))
                    return null;
                if (annotation.NoValidPolygon)
                {
                    withoutValidSegmentation.Add(annotation.Id);
                    continue;
                }
                double[] xyxy = [annotation.X, annotation.Y, annotation.X + annotation.Width, annotation.Y + annotation.Height];
                DatasetAnnotation record;
                switch (annotation.Segmentation)
                {
                    case double[][] polygons:
                        record = new DatasetAnnotation(xyxy, contiguous, annotation.IsCrowd, polygons);
                        break;
                    case CocoRleSegmentation rle:
                        if (TryReadRle(rle, image) is not { } mask)
                            return null;
                        record = new DatasetAnnotation(xyxy, contiguous, annotation.IsCrowd, Mask: mask);
                        break;
                    default:
                        record = new DatasetAnnotation(xyxy, contiguous, annotation.IsCrowd);
                        break;
                }
                if (!perImage.TryGetValue(annotation.ImageId, out var list))
                    perImage[annotation.ImageId] = list = [];
                list.Add(record);
            }
        }

        if (remapped)
            WarnRemapped(datasetName, log);
        if (matched < total)
            log.Warning($"{source} contains {total} annotations, but only {matched} of them match to images in the file.");
        ReportDropped(withoutValidSegmentation, source, log);
        return Finish(images, perImage, source, imageRoot, datasetName, thingClasses, idMap, log);
    }

    /// <returns>null when the RLE is unusable (the document reader then names the annotation and the reason).</returns>
    static Rle? TryReadRle(CocoRleSegmentation rle, CocoImage image)
    {
        try
        {
            return Rle.FromCocoSegmentation(rle.Element, image.Height, image.Width);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}
