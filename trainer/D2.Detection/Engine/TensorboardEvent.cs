using Google.Protobuf;

namespace D2.Detection.Engine;

/// <summary>
/// The TensorBoard <c>Event</c> protobuf messages a scalar log needs, encoded by hand (no generated classes):
/// Event { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5; } },
/// Summary { repeated Value value = 1; }, Summary.Value { string tag = 1; float simple_value = 2; }.
/// Fields at their default value are left out, as proto3 serialisers do.
/// </summary>
public static class TensorboardEvent
{
    /// <summary>The first event of every file: file_version "brain.Event:2".</summary>
    public static byte[] FileVersion(double wallTime, string version = "brain.Event:2") =>
        Encode(output =>
        {
            WriteHeader(output, wallTime, 0);
            output.WriteTag(3, WireFormat.WireType.LengthDelimited);
            output.WriteString(version);
        });

    /// <summary>An event with one scalar summary value (what torch's <c>SummaryWriter.add_scalar</c> writes).</summary>
    public static byte[] Scalar(double wallTime, long step, string tag, float value)
    {
        var summaryValue = Encode(output =>
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteString(tag);
            output.WriteTag(2, WireFormat.WireType.Fixed32);
            output.WriteFloat(value);
        });
        var summary = Encode(output =>
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(summaryValue));
        });
        return Encode(output =>
        {
            WriteHeader(output, wallTime, step);
            output.WriteTag(5, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(summary));
        });
    }

    private static void WriteHeader(CodedOutputStream output, double wallTime, long step)
    {
        if (wallTime != 0)
        {
            output.WriteTag(1, WireFormat.WireType.Fixed64);
            output.WriteDouble(wallTime);
        }
        if (step != 0)
        {
            output.WriteTag(2, WireFormat.WireType.Varint);
            output.WriteInt64(step);
        }
    }

    private static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(output);
            output.Flush();
        }
        return buffer.ToArray();
    }
}
