using System.Buffers.Binary;
using System.Text;
using D2.Detection.Engine;

namespace D2.Detection.Tests.Engine;

/// <summary>
/// The event file against the TFRecord spec (uint64 length, masked CRC-32C of the length, data, masked CRC-32C of the
/// data) with a bitwise CRC-32C written here, and the Event/Summary protobuf bytes assembled by hand.
/// </summary>
public class TensorboardWriterTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-tensorboard-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    /// <summary>CRC-32C one bit at a time: reflected Castagnoli polynomial 0x82F63B78, initial and final xor ~0.</summary>
    static uint BitwiseCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    static uint Masked(uint crc) => ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;

    /// <summary>Splits a TFRecord file, checking both CRCs of every record.</summary>
    static List<byte[]> ReadRecords(byte[] file)
    {
        var records = new List<byte[]>();
        var position = 0;
        while (position < file.Length)
        {
            var lengthBytes = file.AsSpan(position, 8);
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(position + 8, 4)), Is.EqualTo(Masked(BitwiseCrc32C(lengthBytes))), "length CRC");
            var data = file.AsSpan(position + 12, length).ToArray();
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(position + 12 + length, 4)), Is.EqualTo(Masked(BitwiseCrc32C(data))), "data CRC");
            records.Add(data);
            position += 12 + length + 4;
        }
        Assert.That(position, Is.EqualTo(file.Length), "no trailing bytes");
        return records;
    }

    static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    static byte[] Double(double value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        return bytes;
    }

    static byte[] Float(float value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        return bytes;
    }

    [Test]
    public void Crc32C_matches_the_published_check_value_and_a_bitwise_reference()
    {
        Assert.That(BitwiseCrc32C("123456789"u8), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.Compute("123456789"u8), Is.EqualTo(0xE3069283u));
        var random = new Random(3);
        var data = new byte[1000];
        random.NextBytes(data);
        Assert.That(Crc32C.Compute(data), Is.EqualTo(BitwiseCrc32C(data)));
        Assert.That(Crc32C.Mask(0x12345678u), Is.EqualTo(Masked(0x12345678u)));
    }

    [Test]
    public void Event_file_holds_the_version_record_then_one_scalar_event_per_new_value()
    {
        var wallTime = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_500);
        var storage = new EventStorage(19);
        storage.PutScalar("loss_cls", 0.5);
        storage.PutScalar("lr", 0.02, smoothingHint: false);
        string path;
        using (var writer = new TensorboardXWriter(_folder, clock: () => wallTime))
        {
            writer.Write(storage);
            writer.Write(storage);
            path = writer.FilePath!;
        }
        Assert.That(Path.GetFileName(path), Does.StartWith($"events.out.tfevents.1700000000.{Environment.MachineName}."));

        var records = ReadRecords(File.ReadAllBytes(path));
        Assert.That(records, Has.Count.EqualTo(3), "version + 2 scalars; the second write adds nothing");
        var time = Concat([0x09], Double(1_700_000_000.5));
        var version = "brain.Event:2"u8.ToArray();
        Assert.That(records[0], Is.EqualTo(Concat(time, [0x1A, (byte)version.Length], version)));

        byte[] ScalarEvent(string tag, float value)
        {
            var tagBytes = Encoding.UTF8.GetBytes(tag);
            var summaryValue = Concat([0x0A, (byte)tagBytes.Length], tagBytes, [0x15], Float(value));
            var summary = Concat([0x0A, (byte)summaryValue.Length], summaryValue);
            // step 19 is the varint 0x13 under field 2; the summary is field 5.
            return Concat(time, [0x10, 19], [0x2A, (byte)summary.Length], summary);
        }
        Assert.That(records[1], Is.EqualTo(ScalarEvent("loss_cls", 0.5f)));
        Assert.That(records[2], Is.EqualTo(ScalarEvent("lr", 0.02f)));
    }
}
