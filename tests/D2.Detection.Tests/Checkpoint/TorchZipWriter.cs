using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Checkpoint;

/// <summary>
/// Writes <c>torch.save</c>'s zip format (PyTorch 1.6+) for a top-level dict whose values are tensors, ints, strings or
/// nested dicts, as Detectron2's checkpointer saves <c>{"model": state_dict, "iteration": ..., "scheduler": {...}}</c>
/// (TorchSharp.PyBridge writes only a flat state dict). The pickle is protocol 2 with the opcodes torch.save emits for
/// these objects: tensors rebuilt by <c>torch._utils._rebuild_tensor_v2</c> from a persistent-id storage
/// ("storage", torch.FloatStorage, key, "cpu", numel), a state dict as <c>collections.OrderedDict</c>; no memo.
/// Dict values: Tensor, long, string, or a nested dict given as a list of pairs (an OrderedDict when <c>ordered</c>).
/// </summary>
internal sealed class TorchZipWriter
{
    private readonly MemoryStream _pickle = new();
    private readonly List<Tensor> _storages = [];

    /// <param name="archiveName">the archive's top folder (torch.save uses the file's stem)</param>
    public static void Save(string path, IReadOnlyList<KeyValuePair<string, object?>> dict, string archiveName = "archive")
    {
        var writer = new TorchZipWriter();
        writer._pickle.Write([0x80, 2]);
        writer.SaveDict(dict, ordered: false);
        writer._pickle.WriteByte((byte)'.');
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        Entry(zip, $"{archiveName}/data.pkl", writer._pickle.ToArray());
        for (var i = 0; i < writer._storages.Count; i++)
            Entry(zip, $"{archiveName}/data/{i}", writer._storages[i].bytes.ToArray());
        Entry(zip, $"{archiveName}/version", "3\n"u8.ToArray());
    }

    /// <summary>A state dict (tensors) as the pairs of an OrderedDict value.</summary>
    public static OrderedPairs StateDict(IEnumerable<KeyValuePair<string, Tensor>> tensors) =>
        new([.. tensors.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value))]);

    /// <summary>Marks a nested dict to be written as collections.OrderedDict (as state dicts are).</summary>
    public sealed record OrderedPairs(IReadOnlyList<KeyValuePair<string, object?>> Pairs);

    private static void Entry(ZipArchive zip, string name, byte[] data)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(data);
    }

    private void SaveDict(IReadOnlyList<KeyValuePair<string, object?>> dict, bool ordered)
    {
        if (ordered)
        {
            Global("collections", "OrderedDict");
            Op(')');
            Op('R');
        }
        else
        {
            Op('}');
        }
        if (dict.Count == 0)
            return;
        Op('(');
        foreach (var (key, value) in dict)
        {
            SaveString(key);
            SaveValue(value);
        }
        Op('u');
    }

    private void SaveValue(object? value)
    {
        switch (value)
        {
            case null: Op('N'); break;
            case Tensor tensor: SaveTensor(tensor); break;
            case long number: SaveInt(number); break;
            case int number: SaveInt(number); break;
            case double real:
                Op('G');
                var bits = BitConverter.GetBytes(real);
                Array.Reverse(bits);
                _pickle.Write(bits);
                break;
            case string text: SaveString(text); break;
            case OrderedPairs ordered: SaveDict(ordered.Pairs, ordered: true); break;
            case IReadOnlyList<KeyValuePair<string, object?>> nested: SaveDict(nested, ordered: false); break;
            default: throw new ArgumentException($"Cannot write a {value.GetType().Name} in the fixture pickle.");
        }
    }

    private void SaveTensor(Tensor tensor)
    {
        var cpu = tensor.detach().cpu().contiguous();
        Global("torch._utils", "_rebuild_tensor_v2");
        Op('(');
        Op('(');
        SaveString("storage");
        Global("torch", StorageName(cpu.dtype));
        SaveString(_storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        SaveString("cpu");
        SaveInt(cpu.numel());
        Op('t');
        Op('Q');
        _storages.Add(cpu);
        SaveInt(0);
        SaveTuple(cpu.shape);
        SaveTuple(cpu.stride());
        _pickle.WriteByte(0x89); // NEWFALSE: requires_grad
        Global("collections", "OrderedDict");
        Op(')');
        Op('R');
        Op('t');
        Op('R');
    }

    private static string StorageName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "FloatStorage",
        ScalarType.Float64 => "DoubleStorage",
        ScalarType.Int64 => "LongStorage",
        ScalarType.Int32 => "IntStorage",
        ScalarType.Byte => "ByteStorage",
        _ => throw new ArgumentException($"No fixture storage for {dtype}."),
    };

    private void SaveTuple(long[] values)
    {
        Op('(');
        foreach (var value in values)
            SaveInt(value);
        Op('t');
    }

    private void SaveInt(long value)
    {
        if (value is >= 0 and < 256)
        {
            Op('K');
            _pickle.WriteByte((byte)value);
        }
        else
        {
            Op('J');
            _pickle.Write(BitConverter.GetBytes(checked((int)value)));
        }
    }

    private void SaveString(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Op('X');
        _pickle.Write(BitConverter.GetBytes(bytes.Length));
        _pickle.Write(bytes);
    }

    private void Global(string module, string name)
    {
        Op('c');
        _pickle.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    private void Op(char code) => _pickle.WriteByte((byte)code);
}
