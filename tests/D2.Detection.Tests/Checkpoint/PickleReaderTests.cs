using D2.Detection.Checkpoint;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Checkpoint;

public class PickleReaderTests
{
    private static object? Read(byte[] pickle, string name = "fixture.pkl") => PickleReader.Read(new MemoryStream(pickle), name);

    private static OrderedDictionary<object, object?> Dict(object? value) => (OrderedDictionary<object, object?>)value!;

    private static float[] Floats(object? array) => ((NumpyArray)array!).ToTensor().data<float>().ToArray();

    [Test]
    public void Pickle_reader_reads_a_protocol_2_model_zoo_dict_of_numpy_arrays()
    {
        using var scope = NewDisposeScope();
        var pickle = NumpyPickleWriter.Dump(
        [
            new("model", new List<KeyValuePair<string, object?>>
            {
                new("a.weight", NpArray.Of(new float[] { 0, 1, 2, 3, 4, 5 }, 2, 3)),
                new("b.bias", NpArray.Of(new[] { 1.5, -2.5 }, 2)),
                new("f", NpArray.FortranOf([0, 1, 2, 3, 4, 5], 2, 3)),
                new("u", NpArray.Of(new byte[] { 1, 200, 3 }, 3)),
                new("i", NpArray.Of(new[] { -1 }, 1, 1)),
                new("e", NpArray.Of(Array.Empty<float>(), 0, 3)),
                new("s", NpArray.ScalarOf(3f)),
                new("big", NpArray.Of(Enumerable.Range(0, 300).Select(i => i * 0.5f).ToArray(), 300)),
            }),
            new("__author__", "Detectron2 Model Zoo"),
            new("matching_heuristics", false),
        ]);

        var top = Dict(Read(pickle));
        var model = Dict(top["model"]);

        Assert.That(top["__author__"], Is.EqualTo("Detectron2 Model Zoo"));
        Assert.That(top["matching_heuristics"], Is.False);
        Assert.That(model.Keys, Is.EqualTo(new[] { "a.weight", "b.bias", "f", "u", "i", "e", "s", "big" }));
        var weight = ((NumpyArray)model["a.weight"]!).ToTensor();
        Assert.That(weight.shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(weight.data<float>().ToArray(), Is.EqualTo(new float[] { 0, 1, 2, 3, 4, 5 }));
        var bias = ((NumpyArray)model["b.bias"]!).ToTensor();
        Assert.That(bias.dtype, Is.EqualTo(ScalarType.Float64));
        Assert.That(bias.data<double>().ToArray(), Is.EqualTo(new[] { 1.5, -2.5 }));
        var fortran = ((NumpyArray)model["f"]!).ToTensor();
        Assert.That(fortran.shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(fortran.data<long>().ToArray(), Is.EqualTo(new long[] { 0, 1, 2, 3, 4, 5 }));
        Assert.That(((NumpyArray)model["u"]!).ToTensor().data<byte>().ToArray(), Is.EqualTo(new byte[] { 1, 200, 3 }));
        Assert.That(((NumpyArray)model["i"]!).ToTensor().data<int>().ToArray(), Is.EqualTo(new[] { -1 }));
        Assert.That(((NumpyArray)model["e"]!).ToTensor().shape, Is.EqualTo(new long[] { 0, 3 }));
        var scalar = ((NumpyArray)model["s"]!).ToTensor();
        Assert.That(scalar.shape, Is.Empty);
        Assert.That(scalar.item<float>(), Is.EqualTo(3f));
        Assert.That(Floats(model["big"]), Is.EqualTo(Enumerable.Range(0, 300).Select(i => i * 0.5f).ToArray()));
    }

    [Test]
    public void Pickle_reader_reads_real_numpy_pickles_of_protocols_4_and_5()
    {
        using var scope = NewDisposeScope();
        var five = Dict(Read(Convert.FromBase64String(PickleFixtures.Protocol5)));
        var model = Dict(five["model"]);
        Assert.That(five["__author__"], Is.EqualTo("numpy-protocol-5"));
        Assert.That(Floats(model["w"]), Is.EqualTo(new float[] { 0, 1, 2, 3 }));
        Assert.That(((NumpyArray)model["w"]!).Shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(((NumpyArray)model["d"]!).ToTensor().data<double>().ToArray(), Is.EqualTo(new[] { 0.25, -8.0 }));

        var four = Dict(Read(Convert.FromBase64String(PickleFixtures.Protocol4)));
        Assert.That(four.Keys, Is.EqualTo(new[] { "be", "f" }));
        Assert.That(Floats(four["be"]), Is.EqualTo(new[] { 1f, -2f }), "big-endian float32");
        var fortran = ((NumpyArray)four["f"]!).ToTensor();
        Assert.That(fortran.shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(fortran.data<int>().ToArray(), Is.EqualTo(new[] { 0, 1, 2, 3, 4, 5 }));
    }

    [Test]
    public void Pickle_reader_reads_python_2_byte_strings_as_latin1_like_detectron2()
    {
        using var scope = NewDisposeScope();

        var dict = Dict(Read(PickleFixtures.Python2));

        Assert.That(dict.Keys, Is.EqualTo(new[] { "w" }));
        Assert.That(Floats(dict["w"]), Is.EqualTo(new[] { 1f, 2f }));
    }

    [Test]
    public void Pickle_reader_refuses_globals_other_than_numpy_and_executes_nothing()
    {
        // pickle.dumps of an object whose __reduce__ returns (os.system, ("echo owned",)), protocol 2.
        var pickle = PickleFixtures.Bytes(0x80, 2, "cposix\nsystem\n", 'q', 0, 'X', 10, 0, 0, 0, "echo owned", 0x85, 'R', '.');

        var error = Assert.Throws<CheckpointFormatException>(() => Read(pickle, "evil.pkl"));

        Assert.That(error!.Message, Does.Contain("evil.pkl").And.Contain("refusing global 'posix.system'"));
    }

    [Test]
    public void Pickle_reader_reports_truncation_and_non_pickles_by_file_name()
    {
        var pickle = Convert.FromBase64String(PickleFixtures.Protocol5);

        var truncated = Assert.Throws<CheckpointFormatException>(() => Read(pickle[..100], "cut.pkl"));
        var notPickle = Assert.Throws<CheckpointFormatException>(() => Read("{\"model\": 1}"u8.ToArray(), "json.pkl"));
        var protocol0 = Assert.Throws<CheckpointFormatException>(() => Read(PickleFixtures.Bytes(0x80, 1, 'N', '.'), "old.pkl"));

        Assert.That(truncated!.Message, Does.Contain("cut.pkl").And.Contain("truncated"));
        Assert.That(notPickle!.Message, Does.Contain("json.pkl").And.Contain("no PROTO"));
        Assert.That(protocol0!.Message, Does.Contain("old.pkl").And.Contain("protocol 1"));
    }

    [Test]
    public void Pickle_reader_refuses_object_arrays_and_unsupported_dtypes()
    {
        var complexArray = NumpyPickleWriter.Dump([new("c", new NpArray("c8", [1], new byte[8]))]);

        var error = Assert.Throws<CheckpointFormatException>(() => Read(complexArray, "complex.pkl"));

        Assert.That(error!.Message, Does.Contain("complex.pkl").And.Contain("numpy dtype 'c8' is not supported"));
    }
}
