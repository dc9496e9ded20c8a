using System.Text;

namespace D2.Detection.Checkpoint;

/// <summary>A global the pickle names (module, name); only the allowed ones are ever created.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>numpy's dtype while it is being rebuilt: <c>dtype(code, False, True)</c>, then its state sets the byte order.</summary>
internal sealed class NumpyDtype(string code)
{
    // numpy writes the bare code ('f4') and the byte order in the state; a prefixed code is accepted as well.
    public string Code { get; } = code.Length > 1 && code[0] is '<' or '>' or '|' or '=' ? code[1..] : code;
    public char ByteOrder { get; set; } = code.Length > 1 && code[0] is '<' or '>' or '|' or '=' ? code[0] : '=';
    public bool BigEndian => ByteOrder == '>';
}

/// <summary>An ndarray made by <c>_reconstruct</c> whose content arrives with the following BUILD.</summary>
internal sealed class NumpyArrayUnderConstruction
{
    public NumpyArray? Array { get; set; }
}

/// <summary>
/// The callables numpy's pickles use, re-implemented for plain numeric arrays: <c>_reconstruct</c> + <c>__setstate__</c>
/// (protocols 2 to 4), <c>_frombuffer</c> (protocol 5), <c>scalar</c>, <c>dtype</c>, <c>_codecs.encode</c> and <c>bytes()</c>
/// (how Python 3 writes bytes at protocol 2) and <c>collections.OrderedDict</c>. numpy 2 moved <c>numpy.core</c> to <c>numpy._core</c>.
/// </summary>
internal static class NumpyPickle
{
    private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal)
    {
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
        "numpy.ndarray", "numpy.dtype", "_codecs.encode", "collections.OrderedDict", "__builtin__.bytes", "builtins.bytes",
    };

    public static PickleGlobal Global(string module, string name)
    {
        var global = new PickleGlobal(module, name);
        return Allowed.Contains(global.ToString())
            ? global
            : throw new NotSupportedException($"refusing global '{global}': only numpy arrays, numbers, strings and containers are loaded (nothing is executed).");
    }

    public static object? Call(object? callable, object?[] args)
    {
        if (callable is not PickleGlobal global)
            throw new InvalidDataException($"REDUCE calls a {callable?.GetType().Name ?? "None"}, not an allowed global.");
        switch (global.Name)
        {
            case "_reconstruct":
                // _reconstruct(ndarray, (0,), b'b'): an empty array whose shape, dtype and bytes the BUILD state sets.
                if (args.Length != 3 || args[0] is not PickleGlobal { Module: "numpy", Name: "ndarray" })
                    throw new NotSupportedException("_reconstruct of something other than numpy.ndarray (subclasses such as matrix or masked arrays are not read).");
                return new NumpyArrayUnderConstruction();
            case "dtype":
                return args.Length >= 1 && args[0] is string code
                    ? new NumpyDtype(code)
                    : throw new InvalidDataException("numpy.dtype needs a type code.");
            case "scalar":
                // scalar(dtype, bytes): a 0-d array.
                if (args.Length != 2 || args[0] is not NumpyDtype scalarType)
                    throw new InvalidDataException("numpy scalar needs (dtype, bytes).");
                return new NumpyArray(scalarType.Code, scalarType.BigEndian, [], false, Bytes(args[1], "numpy scalar"));
            case "_frombuffer":
                // _frombuffer(buffer, dtype, shape, order): protocol 5's in-band array.
                if (args.Length != 4 || args[1] is not NumpyDtype bufferType || args[3] is not string order)
                    throw new InvalidDataException("numpy _frombuffer needs (buffer, dtype, shape, order).");
                return new NumpyArray(bufferType.Code, bufferType.BigEndian, Shape(args[2]), order == "F", Bytes(args[0], "numpy buffer"));
            case "encode":
                // _codecs.encode(text, 'latin1'): Python 3's protocol-2 spelling of a bytes object.
                if (args.Length != 2 || args[0] is not string text || args[1] is not ("latin1" or "latin-1" or "iso-8859-1"))
                    throw new NotSupportedException("_codecs.encode is read only as (str, 'latin1').");
                return Latin1(text);
            case "bytes":
                // bytes(): Python 3's protocol-2 spelling of b'' (the data of an empty array).
                return args.Length == 0 ? Array.Empty<byte>() : throw new NotSupportedException("bytes(...) is read only without arguments.");
            case "OrderedDict":
                var dict = new OrderedDictionary<object, object?>();
                // Python 2 pickles pass the items as one list of [key, value] pairs; Python 3 adds them with SETITEMS.
                if (args is [List<object?> pairs])
                    foreach (var pair in pairs)
                        dict[Item(pair, 0) ?? throw new NotSupportedException("a dict key is None.")] = Item(pair, 1);
                return dict;
            default:
                throw new NotSupportedException($"'{global}' cannot be called.");
        }
    }

    /// <summary>BUILD: numpy's <c>__setstate__</c> for arrays and dtypes; instance attributes of an OrderedDict are dropped.</summary>
    public static void Build(object? target, object? state)
    {
        switch (target)
        {
            case NumpyArrayUnderConstruction array:
                array.Array = ArrayFromState(state as object?[] ?? throw new InvalidDataException("ndarray state is not a tuple."));
                break;
            case NumpyDtype dtype:
                // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]).
                if (state is not object?[] { Length: >= 2 } dtypeState || dtypeState[1] is not string { Length: 1 } byteOrder)
                    throw new InvalidDataException("numpy dtype state lacks a byte order.");
                if (dtypeState.Length > 3 && (dtypeState[2] is not null || dtypeState[3] is not null))
                    throw new NotSupportedException($"structured numpy dtype '{dtype.Code}' is not supported.");
                dtype.ByteOrder = byteOrder[0];
                break;
            case OrderedDictionary<object, object?>:
                break;
            default:
                throw new NotSupportedException($"BUILD on a {target?.GetType().Name ?? "None"} (only numpy arrays and dtypes are rebuilt).");
        }
    }

    /// <summary>Replaces every rebuilt ndarray by its <see cref="NumpyArray"/> throughout the loaded value.</summary>
    public static object? Resolve(object? value, HashSet<object> visited)
    {
        switch (value)
        {
            case NumpyArrayUnderConstruction pending:
                return pending.Array ?? throw new InvalidDataException("an ndarray is never given its content (no BUILD after _reconstruct).");
            case null or string or byte[] or NumpyArray or long or double or bool:
                return value;
        }
        if (!visited.Add(value))
            return value;
        switch (value)
        {
            case OrderedDictionary<object, object?> dict:
                for (var i = 0; i < dict.Count; i++)
                    dict.SetAt(i, Resolve(dict.GetAt(i).Value, visited));
                break;
            case List<object?> list:
                for (var i = 0; i < list.Count; i++)
                    list[i] = Resolve(list[i], visited);
                break;
            case object?[] tuple:
                for (var i = 0; i < tuple.Length; i++)
                    tuple[i] = Resolve(tuple[i], visited);
                break;
        }
        return value;
    }

    /// <summary>ndarray state: (version, shape, dtype, is_fortran, data), or the versionless 4-tuple of older numpy.</summary>
    private static NumpyArray ArrayFromState(object?[] state)
    {
        var fields = state.Length switch
        {
            5 => state[1..],
            4 => state,
            _ => throw new InvalidDataException($"ndarray state has {state.Length} fields."),
        };
        if (fields[1] is not NumpyDtype dtype)
            throw new InvalidDataException("ndarray state has no dtype.");
        if (fields[3] is List<object?>)
            throw new NotSupportedException($"object arrays (dtype '{dtype.Code}') are not supported.");
        var fortran = fields[2] switch
        {
            bool b => b,
            long l => l != 0,
            _ => throw new InvalidDataException("ndarray state has no is_fortran flag."),
        };
        return new NumpyArray(dtype.Code, dtype.BigEndian, Shape(fields[0]), fortran, Bytes(fields[3], "ndarray data"));
    }

    private static long[] Shape(object? value) => value is object?[] dims
        ? dims.Select(d => d is long n ? n : throw new InvalidDataException("a shape holds a non-integer.")).ToArray()
        : throw new InvalidDataException("a shape is not a tuple.");

    private static byte[] Bytes(object? value, string what) => value switch
    {
        byte[] bytes => bytes,
        // Python 2 byte strings were decoded as latin1 on reading; numpy encodes them back the same way.
        string text => Latin1(text),
        _ => throw new InvalidDataException($"{what} is a {value?.GetType().Name ?? "None"}, not bytes."),
    };

    private static byte[] Latin1(string text) => text.Any(c => c > '\u00ff')
        ? throw new InvalidDataException("text with characters beyond latin1 where bytes are expected.")
        : Encoding.Latin1.GetBytes(text);

    private static object? Item(object? pair, int index) => pair switch
    {
        List<object?> list when list.Count == 2 => list[index],
        object?[] tuple when tuple.Length == 2 => tuple[index],
        _ => throw new InvalidDataException("OrderedDict items are not (key, value) pairs."),
    };
}
