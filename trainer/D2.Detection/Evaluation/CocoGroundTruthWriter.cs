using System.Globalization;
using System.Text.Json;
using D2.Detection.Checkpoint;
using D2.Detection.Data;
using D2.Detection.Structures;

namespace D2.Detection.Evaluation;

/// <summary>
/// Detectron2's convert_to_coco_dict / convert_to_coco_json: a dataset that did not come from a COCO file (VIA json,
/// custom records) written as COCO ground truth so that it can be evaluated like one. Image ids are the records' ids,
/// annotation ids count from 1, boxes are [x, y, width, height] rounded to 3 decimals, the area is the polygons' shoelace
/// area (or the RLE's pixel count, or the box area), category ids are mapped back to the dataset's ids.
/// </summary>
public static class CocoGroundTruthWriter
{
    /// <summary>The file name Detectron2 gives the converted ground truth: <c>&lt;dataset name&gt;_coco_format.json</c>.</summary>
    public static string FileNameFor(string datasetName) => datasetName + "_coco_format.json";

    /// <summary>Writes the COCO json of <paramref name="records"/> to <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, IEnumerable<DatasetRecord> records, DatasetMetadata metadata) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream);
            Write(writer, records, metadata);
        });

    public static void Write(Utf8JsonWriter writer, IEnumerable<DatasetRecord> records, DatasetMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(metadata);
        var toDatasetId = DatasetIds(metadata);
        var recordList = records.ToList();
        writer.WriteStartObject();
        writer.WriteStartObject("info");
        writer.WriteString("date_created", DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
        writer.WriteString("description", "Automatically generated COCO json file for Detectron2.");
        writer.WriteEndObject();

        writer.WriteStartArray("images");
        foreach (var record in recordList)
        {
            writer.WriteStartObject();
            writer.WriteNumber("id", record.ImageId);
            writer.WriteNumber("width", record.Width);
            writer.WriteNumber("height", record.Height);
            writer.WriteString("file_name", record.FileName);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        writer.WriteStartArray("categories");
        for (var id = 0; id < metadata.ThingClasses.Count; id++)
        {
            writer.WriteStartObject();
            writer.WriteNumber("id", toDatasetId(id));
            writer.WriteString("name", metadata.ThingClasses[id]);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        writer.WriteStartArray("annotations");
        var annotationId = 0;
        foreach (var record in recordList)
        {
            foreach (var annotation in record.Annotations)
            {
                var b = annotation.BboxXyxy;
                if (b is not { Length: 4 })
                    throw new ArgumentException($"Image {record.ImageId} ({record.FileName}) has an annotation whose box does not have 4 numbers.", nameof(records));
                // BoxMode.convert works on a float32 tensor: width and height are float32 differences.
                float x = (float)b[0], y = (float)b[1], w = (float)b[2] - x, h = (float)b[3] - y;
                writer.WriteStartObject();
                writer.WriteNumber("id", ++annotationId);
                writer.WriteNumber("image_id", record.ImageId);
                writer.WriteStartArray("bbox");
                foreach (var value in new[] { x, y, w, h })
                    writer.WriteNumberValue(Round3(value));
                writer.WriteEndArray();
                writer.WriteNumber("area", Area(annotation, x, y, w, h));
                writer.WriteNumber("iscrowd", annotation.IsCrowd ? 1 : 0);
                writer.WriteNumber("category_id", toDatasetId(annotation.CategoryId));
                if (annotation.Polygons is { } polygons)
                {
                    writer.WriteStartArray("segmentation");
                    foreach (var polygon in polygons)
                    {
                        writer.WriteStartArray();
                        foreach (var value in polygon)
                            writer.WriteNumberValue(value);
                        writer.WriteEndArray();
                    }
                    writer.WriteEndArray();
                }
                else if (annotation.Mask is { } rle)
                {
                    writer.WritePropertyName("segmentation");
                    rle.WriteCocoSegmentation(writer);
                }
                writer.WriteEndObject();
            }
        }
        writer.WriteEndArray();
        writer.WriteNull("licenses");
        writer.WriteEndObject();
    }

    /// <summary>Contiguous class index -> the dataset's category id (Detectron2's reverse_id_mapper).</summary>
    internal static Func<int, long> DatasetIds(DatasetMetadata metadata)
    {
        var reverse = new Dictionary<int, long>();
        foreach (var (datasetId, contiguousId) in metadata.ThingDatasetIdToContiguousId)
        {
            if (!reverse.TryAdd(contiguousId, datasetId))
                throw new ArgumentException($"Dataset '{metadata.Name}': category ids {reverse[contiguousId]} and {datasetId} both map to class {contiguousId}.", nameof(metadata));
        }
        // Custom datasets without a mapping use their contiguous ids, as Detectron2 does.
        return contiguous => reverse.Count == 0 ? contiguous
            : reverse.TryGetValue(contiguous, out var id) ? id
            : throw new ArgumentException($"Dataset '{metadata.Name}' has no category id for class {contiguous} (thing_dataset_id_to_contiguous_id covers {string.Join(", ", reverse.Keys.Order())}).", nameof(metadata));
    }

    /// <summary>The annotation's area as Detectron2 computes it: polygons in float64 (numpy), the box in float32 (Boxes).</summary>
    static double Area(DatasetAnnotation annotation, float x, float y, float w, float h)
    {
        if (annotation.Polygons is { } polygons)
            return polygons.Sum(PolygonMasks.ShoelaceArea);
        if (annotation.Mask is { } rle)
            return rle.Area();
        // Boxes([XYXY]).area() on the XYWH box converted back, all float32.
        float x1 = x + w, y1 = y + h;
        return (x1 - x) * (y1 - y);
    }

    /// <summary>Python's round(x, 3) of a float32 coordinate: correctly rounded, exact ties to even.</summary>
    static double Round3(float value) => double.Parse(NumpyCompat.Fixed3(value), CultureInfo.InvariantCulture);
}
