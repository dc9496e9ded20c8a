using System.Buffers.Binary;
using System.Text;

namespace D2.Detection.Checkpoint;

/// <summary>
/// A minimal, safe unpickler (protocols 2 to 5) for Detectron2 model-zoo <c>.pkl</c> files: dicts of numpy arrays,
/// strings and numbers. It executes nothing: the only globals it accepts are the few numpy, codecs and collections
/// callables that numpy's own pickling emits, each re-implemented here; any other global is refused.
/// Python values come back as: None -> null, bool, int -> long, float -> double, str -> string (Python 2 byte strings
/// decoded as latin1, as Detectron2 loads them), bytes -> byte[], tuple -> object?[], list -> List&lt;object?&gt;,
/// dict -> <see cref="OrderedDictionary{TKey, TValue}"/>, numpy array or scalar -> <see cref="NumpyArray"/>.
/// </summary>
public static class PickleReader
{
    /// <summary>Reads the pickle in <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointFormatException">malformed or truncated pickle, or content this reader refuses</exception>
    public static object? Load(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Read(stream, path);
    }

    /// <summary>Reads one pickle from a seekable stream; <paramref name="name"/> names the source in errors.</summary>
    public static object? Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var machine = new Machine(stream, name);
        try
        {
            return machine.Run();
        }
        catch (EndOfStreamException e)
        {
            throw new CheckpointFormatException(name, $"the pickle ends early at byte {stream.Position} (truncated file).", e);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidDataException or DecoderFallbackException)
        {
            throw new CheckpointFormatException(name, $"cannot read the pickle near byte {stream.Position}: {e.Message}", e);
        }
    }

    /// <summary>Pickle's stack machine: a value stack, MARK positions and the memo.</summary>
    private sealed class Machine(Stream stream, string name)
    {
        private readonly List<object?> _stack = [];
        private readonly Stack<int> _marks = new();
        private readonly Dictionary<long, object?> _memo = [];
        private readonly byte[] _scratch = new byte[8];

        public object? Run()
        {
            var first = true;
            while (true)
            {
                var opcode = ReadByte();
                if (first && opcode != 0x80)
                    throw new NotSupportedException("no PROTO opcode: only pickle protocols 2 to 5 are read (is this a pickle?).");
                first = false;
                switch (opcode)
                {
                    case 0x80: // PROTO
                        var protocol = ReadByte();
                        if (protocol is < 2 or > 5)
                            throw new NotSupportedException($"pickle protocol {protocol}; only 2 to 5 are read.");
                        break;
                    case 0x95: Read(8); break; // FRAME: a length prefix only; frames hold ordinary opcodes
                    case (byte)'.': // STOP
                        return _stack.Count == 1
                            ? NumpyPickle.Resolve(_stack[0], new HashSet<object>(ReferenceEqualityComparer.Instance))
                            : throw new InvalidDataException($"STOP with {_stack.Count} values on the stack.");
                    case (byte)'(': _marks.Push(_stack.Count); break; // MARK
                    case (byte)'0': Pop(); break; // POP
                    case (byte)'1': PopMark(); break; // POP_MARK
                    case (byte)'2': Push(Peek()); break; // DUP
                    case (byte)'N': Push(null); break;
                    case 0x88: Push(true); break; // NEWTRUE
                    case 0x89: Push(false); break; // NEWFALSE
                    case (byte)'K': Push((long)ReadByte()); break; // BININT1
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2))); break; // BININT2
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4))); break; // BININT
                    case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                    case 0x8b: Push(ReadLong(ReadLength(4))); break; // LONG4
                    case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8))); break; // BINFLOAT
                    // Python 2 str: bytes decoded as latin1 (Detectron2 loads with encoding="latin1").
                    case (byte)'U': Push(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break; // SHORT_BINSTRING
                    case (byte)'T': Push(Encoding.Latin1.GetString(ReadBytes(ReadLength(4)))); break; // BINSTRING
                    case 0x8c: Push(Utf8(ReadBytes(ReadByte()))); break; // SHORT_BINUNICODE
                    case (byte)'X': Push(Utf8(ReadBytes(ReadLength(4)))); break; // BINUNICODE
                    case 0x8d: Push(Utf8(ReadBytes(ReadLength(8)))); break; // BINUNICODE8
                    case (byte)'C': Push(ReadBytes(ReadByte())); break; // SHORT_BINBYTES
                    case (byte)'B': Push(ReadBytes(ReadLength(4))); break; // BINBYTES
                    case 0x8e: Push(ReadBytes(ReadLength(8))); break; // BINBYTES8
                    case 0x96: Push(ReadBytes(ReadLength(8))); break; // BYTEARRAY8 (protocol 5, numpy's in-band buffers)
                    case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                    case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                    case 0x85: Push(PopMany(1)); break; // TUPLE1
                    case 0x86: Push(PopMany(2)); break; // TUPLE2
                    case 0x87: Push(PopMany(3)); break; // TUPLE3
                    case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                    case (byte)'l': Push(PopMark()); break; // LIST
                    case (byte)'a': var item = Pop(); As<List<object?>>(Peek(), "APPEND").Add(item); break;
                    case (byte)'e': var items = PopMark(); As<List<object?>>(Peek(), "APPENDS").AddRange(items); break;
                    case (byte)'}': Push(new OrderedDictionary<object, object?>()); break; // EMPTY_DICT
                    case (byte)'d': var dict = new OrderedDictionary<object, object?>(); SetItems(dict, PopMark()); Push(dict); break; // DICT
                    case (byte)'s': var value = Pop(); var key = Pop(); SetItems(Dict(Peek(), "SETITEM"), [key, value]); break;
                    case (byte)'u': var pairs = PopMark(); SetItems(Dict(Peek(), "SETITEMS"), pairs); break;
                    case (byte)'c': Push(NumpyPickle.Global(ReadLine(), ReadLine())); break; // GLOBAL
                    case 0x93: var globalName = Pop(); Push(NumpyPickle.Global(As<string>(Pop(), "STACK_GLOBAL"), As<string>(globalName, "STACK_GLOBAL"))); break;
                    case (byte)'R': var arguments = As<object?[]>(Pop(), "REDUCE"); Push(NumpyPickle.Call(Pop(), arguments)); break;
                    case (byte)'b': var state = Pop(); NumpyPickle.Build(Peek(), state); break; // BUILD
                    case (byte)'h': Push(Recall(ReadByte())); break; // BINGET
                    case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break; // LONG_BINGET
                    case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                    case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Read(4))] = Peek(); break; // LONG_BINPUT
                    case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                    default:
                        throw new NotSupportedException(
                            $"pickle opcode 0x{opcode:x2} ('{(char)opcode}') is not supported: only plain data and numpy arrays are read (no objects, persistent ids or out-of-band buffers).");
                }
            }
        }

        private static void SetItems(OrderedDictionary<object, object?> dict, List<object?> flat)
        {
            if (flat.Count % 2 != 0)
                throw new InvalidDataException("SETITEMS with an odd number of values.");
            for (var i = 0; i < flat.Count; i += 2)
                dict[flat[i] ?? throw new NotSupportedException("a dict key is None.")] = flat[i + 1];
        }

        private static OrderedDictionary<object, object?> Dict(object? value, string opcode) => As<OrderedDictionary<object, object?>>(value, opcode);

        private static T As<T>(object? value, string opcode) => value is T typed
            ? typed
            : throw new InvalidDataException($"{opcode} expects a {typeof(T).Name}, found {value?.GetType().Name ?? "None"}.");

        private object? Recall(long index) =>
            _memo.TryGetValue(index, out var value) ? value : throw new InvalidDataException($"memo entry {index} is read before it is written.");

        private void Push(object? value) => _stack.Add(value);

        private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw new InvalidDataException("the pickle stack is empty.");

        private object? Pop()
        {
            var value = Peek();
            _stack.RemoveAt(_stack.Count - 1);
            return value;
        }

        private object?[] PopMany(int count)
        {
            if (_stack.Count - (_marks.Count > 0 ? _marks.Peek() : 0) < count)
                throw new InvalidDataException($"the pickle stack holds fewer than {count} values.");
            var values = _stack.GetRange(_stack.Count - count, count).ToArray();
            _stack.RemoveRange(_stack.Count - count, count);
            return values;
        }

        private List<object?> PopMark()
        {
            if (_marks.Count == 0)
                throw new InvalidDataException("an opcode needs a MARK that is not there.");
            var mark = _marks.Pop();
            var values = _stack.GetRange(mark, _stack.Count - mark);
            _stack.RemoveRange(mark, _stack.Count - mark);
            return values;
        }

        private byte ReadByte()
        {
            var value = stream.ReadByte();
            return value >= 0 ? (byte)value : throw new EndOfStreamException();
        }

        private ReadOnlySpan<byte> Read(int count)
        {
            stream.ReadExactly(_scratch, 0, count);
            return _scratch.AsSpan(0, count);
        }

        private long ReadLength(int width)
        {
            var length = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Read(4)) : BinaryPrimitives.ReadInt64LittleEndian(Read(8));
            // A length past the end of the file is corruption; refusing it early avoids a huge allocation.
            if (length < 0 || length > stream.Length - stream.Position)
                throw new EndOfStreamException($"a length of {length} bytes runs past the end of '{name}'.");
            return length;
        }

        private byte[] ReadBytes(long count)
        {
            if (count > stream.Length - stream.Position)
                throw new EndOfStreamException();
            var bytes = new byte[count];
            stream.ReadExactly(bytes);
            return bytes;
        }

        private long ReadLong(long byteCount)
        {
            if (byteCount > 8)
                throw new NotSupportedException($"an integer of {byteCount} bytes is too large.");
            var bytes = ReadBytes(byteCount);
            long value = 0;
            for (var i = (int)byteCount - 1; i >= 0; i--)
                value = (value << 8) | bytes[i];
            // Two's complement: sign-extend from the top byte.
            if (byteCount is > 0 and < 8 && (bytes[^1] & 0x80) != 0)
                value -= 1L << (int)(8 * byteCount);
            return value;
        }

        private string ReadLine()
        {
            var line = new StringBuilder();
            for (var c = ReadByte(); c != (byte)'\n'; c = ReadByte())
                line.Append(line.Length < 256 ? (char)c : throw new InvalidDataException("a GLOBAL name is longer than 256 bytes."));
            return line.ToString();
        }

        private static string Utf8(byte[] bytes) => new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
    }
}
