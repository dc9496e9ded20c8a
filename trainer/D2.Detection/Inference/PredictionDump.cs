using System.Buffers;
using System.Text.Json;
using D2.Detection.Config;
using D2.Detection.Modeling;
using D2.Detection.Structures;

namespace D2.Detection.Inference;

/// <summary>
/// The intermediate results of one prediction as JSON, to find where a prediction starts to differ from Detectron2's:
/// the test-time settings, the network input, per-level feature statistics (res2..res5, p2..p6), the top RPN
/// proposals, the box head's funnel (proposals, pairs above SCORE_THRESH_TEST, detections) and the final instances.
/// Every number is one a Detectron2 user can print from the same places of Detectron2's model.
/// </summary>
public static class PredictionDump
{
    /// <param name="cfg">the model's config (its test-time keys are echoed)</param>
    /// <param name="trace">filled by <see cref="Predictor.Predict(PreprocessedImage, InferenceTrace?)"/></param>
    /// <param name="instances">the prediction at the original image size</param>
    public static byte[] ToUtf8Bytes(CfgNode cfg, InferenceTrace trace, Instances instances, IReadOnlyList<string> classNames, int topInstances = 20)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(classNames);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            WriteConfig(writer, cfg);
            writer.WriteStartArray("input_sizes");
            foreach (var (height, width) in trace.ImageSizes)
                WriteInts(writer, null, [height, width]);
            writer.WriteEndArray();
            if (trace.Input is not null)
                WriteSummary(writer, "input", trace.Input);
            writer.WriteStartObject("features");
            foreach (var feature in trace.Features)
                WriteSummary(writer, feature.Name, feature);
            writer.WriteEndObject();
            writer.WriteStartArray("rpn_proposals");
            foreach (var proposals in trace.Proposals)
                WriteProposals(writer, proposals);
            writer.WriteEndArray();
            writer.WriteStartArray("box_head");
            foreach (var counts in trace.BoxHead)
            {
                writer.WriteStartObject();
                writer.WriteNumber("proposals", counts.Proposals);
                writer.WriteNumber("above_score_thresh", counts.AboveScoreThreshold);
                writer.WriteNumber("after_nms_topk", counts.Detections);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            WriteInstances(writer, instances, classNames, topInstances);
            writer.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    static void WriteConfig(Utf8JsonWriter writer, CfgNode cfg)
    {
        writer.WriteStartObject("config");
        foreach (var key in (string[])["INPUT.FORMAT", "INPUT.MIN_SIZE_TEST", "INPUT.MAX_SIZE_TEST", "MODEL.RPN.PRE_NMS_TOPK_TEST",
                     "MODEL.RPN.POST_NMS_TOPK_TEST", "MODEL.RPN.NMS_THRESH", "MODEL.ROI_HEADS.SCORE_THRESH_TEST",
                     "MODEL.ROI_HEADS.NMS_THRESH_TEST", "TEST.DETECTIONS_PER_IMAGE"])
        {
            switch (cfg[key])
            {
                case string text: writer.WriteString(key, text); break;
                case long integer: writer.WriteNumber(key, integer); break;
                case double real: writer.WriteNumber(key, real); break;
                default: writer.WriteNull(key); break;
            }
        }
        writer.WriteEndObject();
    }

    static void WriteSummary(Utf8JsonWriter writer, string name, TensorSummary summary)
    {
        writer.WriteStartObject(name);
        WriteInts(writer, "shape", summary.Shape);
        WriteNumber(writer, "mean", summary.Mean);
        WriteNumber(writer, "std", summary.Std);
        WriteNumber(writer, "min", summary.Min);
        WriteNumber(writer, "max", summary.Max);
        writer.WriteEndObject();
    }

    static void WriteProposals(Utf8JsonWriter writer, ProposalSummary proposals)
    {
        writer.WriteStartObject();
        writer.WriteNumber("count", proposals.Count);
        writer.WriteStartArray("top");
        for (var i = 0; i < proposals.TopBoxes.Count; i++)
        {
            writer.WriteStartObject();
            writer.WriteStartArray("box");
            foreach (var value in proposals.TopBoxes[i])
                writer.WriteNumberValue(value);
            writer.WriteEndArray();
            WriteNumber(writer, "objectness_logit", proposals.TopLogits[i]);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    static void WriteInstances(Utf8JsonWriter writer, Instances instances, IReadOnlyList<string> classNames, int top)
    {
        var predictions = PredictionArrays.From(instances);
        writer.WriteStartObject("instances");
        writer.WriteNumber("count", predictions.Count);
        writer.WriteStartObject("per_class");
        foreach (var group in predictions.Classes.GroupBy(c => c).OrderBy(g => g.Key))
            writer.WriteNumber(Name(classNames, group.Key), group.Count());
        writer.WriteEndObject();
        writer.WriteStartArray("top");
        for (var i = 0; i < Math.Min(top, predictions.Count); i++)
        {
            writer.WriteStartObject();
            writer.WriteString("class", Name(classNames, predictions.Classes[i]));
            WriteNumber(writer, "score", predictions.Scores[i]);
            writer.WriteStartArray("box");
            for (var c = 0; c < 4; c++)
                writer.WriteNumberValue(predictions.Boxes[4 * i + c]);
            writer.WriteEndArray();
            if (predictions.HasMasks)
                writer.WriteNumber("mask_area", predictions.Mask(i).Count(b => b != 0));
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    static string Name(IReadOnlyList<string> classNames, long index) =>
        index >= 0 && index < classNames.Count ? classNames[(int)index] : index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    static void WriteInts(Utf8JsonWriter writer, string? name, IEnumerable<long> values)
    {
        if (name is null)
            writer.WriteStartArray();
        else
            writer.WriteStartArray(name);
        foreach (var value in values)
            writer.WriteNumberValue(value);
        writer.WriteEndArray();
    }

    static void WriteInts(Utf8JsonWriter writer, string? name, IEnumerable<int> values) => WriteInts(writer, name, values.Select(v => (long)v));

    // JSON has no NaN or infinity; a non-finite statistic is itself a finding, written as null.
    static void WriteNumber(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value))
            writer.WriteNumber(name, value);
        else
            writer.WriteNull(name);
    }
}
