using System.Buffers.Binary;
using System.Text;
using D2.Detection.Checkpoint;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Checkpoint;

public class SafeTensorsTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-safetensors-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void SafeTensors_round_trips_every_dtype_exactly_including_empty_and_scalar_tensors()
    {
        using var scope = NewDisposeScope();
        var values = arange(-6, 6, ScalarType.Float64) * 1.25;
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = values.to(ScalarType.Float32).reshape(3, 4),
            ["f64"] = (values / 3).reshape(2, 6),
            ["f16"] = values.to(ScalarType.Float16),
            ["bf16"] = values.to(ScalarType.BFloat16).reshape(4, 3),
            ["i64"] = tensor(new[] { long.MinValue, -1L, 0L, long.MaxValue }),
            ["i32"] = tensor(new[] { int.MinValue, -7, int.MaxValue }),
            ["i16"] = tensor(new short[] { short.MinValue, 3, short.MaxValue }),
            ["i8"] = tensor(new sbyte[] { sbyte.MinValue, -1, sbyte.MaxValue }),
            ["u8"] = tensor(new byte[] { 0, 128, 255 }),
            ["bool"] = tensor(new[] { true, false, true }),
            ["empty"] = zeros(0),
            ["empty_2d"] = zeros([2, 0], ScalarType.Int64),
            ["scalar"] = tensor(3.5f),
            ["transposed"] = arange(6, ScalarType.Float32).reshape(2, 3).t(),
        };
        var path = Path.Combine(_folder, "all.safetensors");

        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var loaded = SafeTensors.Load(path);

        Assert.That(loaded.Tensors.Keys, Is.EquivalentTo(tensors.Keys));
        foreach (var (name, expected) in tensors)
        {
            var actual = loaded.Tensors[name];
            Assert.That(actual.dtype, Is.EqualTo(expected.dtype), name);
            Assert.That(actual.shape, Is.EqualTo(expected.shape), name);
            Assert.That(actual.bytes.ToArray(), Is.EqualTo(expected.contiguous().bytes.ToArray()), name);
        }
        Assert.That(loaded.Metadata, Is.EqualTo(new Dictionary<string, string> { ["format"] = "pt" }));
    }

    [Test]
    public void SafeTensors_file_matches_the_format_byte_for_byte_on_a_hand_computed_example()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "tiny.safetensors");

        SafeTensors.Save(path,
            [new("a", tensor(new[] { 1f, -2f })), new("b", tensor(7L))],
            new Dictionary<string, string> { ["format"] = "pt" });

        // The reference orders by descending dtype alignment (I64 before F32), then by name; offsets follow that order.
        const string json = """{"__metadata__":{"format":"pt"},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""";
        Assert.That(json.Length, Is.EqualTo(138));
        var expected = new List<byte> { 144, 0, 0, 0, 0, 0, 0, 0 }; // 138 bytes of JSON padded with spaces to 144 (a multiple of 8)
        expected.AddRange(Encoding.ASCII.GetBytes(json + "      "));
        expected.AddRange([7, 0, 0, 0, 0, 0, 0, 0]); // int64 7, little-endian
        expected.AddRange([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]); // float32 1.0, -2.0
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected.ToArray()));
    }

    [Test]
    public void SafeTensors_file_is_read_back_by_an_independent_reader()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "peer.safetensors");
        SafeTensors.Save(path, [new("a", arange(5, ScalarType.Float32)), new("b", tensor(new long[] { -1, 2 }))],
            new Dictionary<string, string> { ["format"] = "pt" });

        // TorchSharp.PyBridge has its own safetensors reader, written apart from this one.
        var peer = TorchSharp.PyBridge.Safetensors.LoadStateDict(path);

        Assert.That(peer.Keys, Is.EquivalentTo(new[] { "a", "b" }));
        Assert.That(peer["a"].data<float>().ToArray(), Is.EqualTo(new float[] { 0, 1, 2, 3, 4 }));
        Assert.That(peer["b"].data<long>().ToArray(), Is.EqualTo(new long[] { -1, 2 }));
    }

    [Test]
    public void SafeTensors_metadata_strings_survive_json_escaping()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "meta.safetensors");
        var metadata = new Dictionary<string, string> { ["config"] = "MODEL:\n  NAME: \"x\\y\"\ttab", ["classes"] = "[\"balloon\", \"café\"]", ["\u0001"] = "" };

        SafeTensors.Save(path, [new("x", ones(1))], metadata);

        Assert.That(SafeTensors.ReadMetadata(path), Is.EqualTo(metadata));
    }

    [Test]
    public void SafeTensors_reports_a_truncated_file_by_name()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "cut.safetensors");
        SafeTensors.Save(path, [new("w", ones(16))]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);

        var error = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("'w'").And.Contain("truncated"));

        File.WriteAllBytes(path, bytes[..5]);
        error = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("fewer than the 8-byte"));

        File.WriteAllBytes(path, bytes[..40]);
        error = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));
        Assert.That(error!.Message, Does.Contain(path).And.Contain("header claims"));
    }

    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", "not valid JSON")]
    [TestCase("[1,2]", "not a JSON object")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,80]}}", "out of range")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "starts at data offset 4")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "need 12")]
    [TestCase("{\"w\":{\"dtype\":\"U16\",\"shape\":[4],\"data_offsets\":[0,8]}}", "dtype 'U16', which is not supported")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "not a non-negative integer")]
    [TestCase("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "describes 4 data bytes, but 8 follow")]
    [TestCase("{\"__metadata__\":{\"k\":1},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "'k' is not a string")]
    public void SafeTensors_rejects_a_malformed_header_with_an_error_naming_the_file(string header, string problem)
    {
        var path = Path.Combine(_folder, "bad.safetensors");
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + headerBytes.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)headerBytes.Length);
        headerBytes.CopyTo(file, 8);
        File.WriteAllBytes(path, file);

        var error = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(path));

        Assert.That(error!.Message, Does.StartWith($"Checkpoint '{path}'").And.Contain(problem));
        Assert.That(error.FilePath, Is.EqualTo(path));
    }

    [Test]
    public void SafeTensors_refuses_to_write_a_dtype_the_format_does_not_hold()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "complex.safetensors");

        var error = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [new("c", zeros(2, ScalarType.ComplexFloat32))]));

        Assert.That(error!.Message, Does.Contain("'c'"));
        Assert.That(Directory.GetFiles(_folder), Is.Empty);
    }
}
