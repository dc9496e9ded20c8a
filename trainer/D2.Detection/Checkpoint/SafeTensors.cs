using System.Buffers.Binary;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>Tensors read from a safetensors file (CPU, in file order) and its <c>__metadata__</c> strings.</summary>
public sealed record SafeTensorsContent(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian C-order data), written
/// the way the reference implementation writes it, so Python's <c>safetensors.torch.load_file</c> reads our files and
/// we read theirs. Dtypes: F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL.
/// </summary>
public static class SafeTensors
{
    private const int CopyBufferBytes = 1 << 20;

    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    /// <param name="tensors">name -> tensor (any device, any layout; copied to CPU contiguous as written)</param>
    /// <param name="metadata">stored as the header's <c>__metadata__</c> string map; omitted when null or empty</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, stream => Write(stream, tensors, metadata));

    /// <summary>Writes the safetensors bytes to <paramref name="stream"/> (see <see cref="Save"/>).</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        RequireLittleEndianHost();
        var items = new List<(string Name, Tensor Tensor, int Rank)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name == SafeTensorsHeader.MetadataKey)
                throw new ArgumentException($"'{name}' is reserved by the safetensors format and cannot name a tensor.", nameof(tensors));
            if (!names.Add(name))
                throw new ArgumentException($"Tensor name '{name}' appears twice.", nameof(tensors));
            if (!SafeTensorsDtype.TryToName(tensor.dtype, out _, out var rank))
                throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}, which safetensors files of this port do not hold (supported: {SafeTensorsDtype.SupportedNames}).", nameof(tensors));
            items.Add((name, tensor, rank));
        }
        // The reference orders tensors by descending dtype alignment, then by name (byte order), and lays data out in that order.
        items.Sort((a, b) => a.Rank != b.Rank ? b.Rank.CompareTo(a.Rank) : string.CompareOrdinal(a.Name, b.Name));

        var entries = new List<SafeTensorsEntry>(items.Count);
        long offset = 0;
        foreach (var (name, tensor, _) in items)
        {
            var bytes = tensor.numel() * SafeTensorsDtype.ElementSize(tensor.dtype);
            entries.Add(new SafeTensorsEntry(name, tensor.dtype, tensor.shape, offset, offset + bytes));
            offset += bytes;
        }
        var header = SafeTensorsHeader.Serialize(entries, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var (_, tensor, _) in items)
        {
            using var scope = NewDisposeScope();
            tensor.detach().cpu().contiguous().WriteBytesToStream(stream, BufferSize(tensor));
        }
    }

    /// <summary>Reads a whole safetensors file onto the CPU; the tensors belong to the caller's dispose scope.</summary>
    /// <exception cref="CheckpointFormatException">truncated file, bad JSON, offsets out of range, unknown dtype</exception>
    public static SafeTensorsContent Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferBytes);
        return Read(stream, path);
    }

    /// <summary>Reads safetensors bytes from a seekable stream; <paramref name="name"/> names the source in errors.</summary>
    public static SafeTensorsContent Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        RequireLittleEndianHost();
        var (entries, metadata, dataStart) = ReadHeader(stream, name);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = NewDisposeScope();
        foreach (var entry in entries)
        {
            stream.Seek(dataStart + entry.Begin, SeekOrigin.Begin);
            var tensor = empty(entry.Shape, entry.DType, CPU);
            try
            {
                tensor.ReadBytesFromStream(stream, BufferSize(tensor));
            }
            catch (EndOfStreamException e)
            {
                throw new CheckpointFormatException(name, $"the file ended inside tensor '{entry.Name}' (truncated file).", e);
            }
            tensors[entry.Name] = tensor;
        }
        foreach (var tensor in tensors.Values)
            tensor.MoveToOuterDisposeScope();
        return new SafeTensorsContent(tensors, metadata);
    }

    /// <summary>Reads only the <c>__metadata__</c> strings (cheap: the tensor data is not touched).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadHeader(stream, path).Metadata;
    }

    private static (List<SafeTensorsEntry> Entries, Dictionary<string, string> Metadata, long DataStart) ReadHeader(Stream stream, string name)
    {
        if (!stream.CanSeek)
            throw new ArgumentException("Reading safetensors needs a seekable stream.", nameof(stream));
        var fileLength = stream.Length;
        if (fileLength < 8)
            throw new CheckpointFormatException(name, $"the file has {fileLength} bytes, fewer than the 8-byte safetensors header length (truncated, or not a safetensors file).");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.Seek(0, SeekOrigin.Begin);
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > SafeTensorsHeader.MaxHeaderBytes)
            throw new CheckpointFormatException(name, $"the safetensors header length {headerLength} exceeds {SafeTensorsHeader.MaxHeaderBytes} bytes (not a safetensors file?).");
        if (8 + (long)headerLength > fileLength)
            throw new CheckpointFormatException(name, $"the safetensors header claims {headerLength} bytes, but only {fileLength - 8} follow (truncated file).");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var dataStart = 8 + (long)headerLength;
        var (entries, metadata) = SafeTensorsHeader.Parse(name, header, fileLength - dataStart);
        return (entries, metadata, dataStart);
    }

    // TorchSharp allocates the copy buffer per call: small tensors get small buffers.
    private static int BufferSize(Tensor tensor) =>
        (int)Math.Clamp(tensor.numel() * SafeTensorsDtype.ElementSize(tensor.dtype), 1, CopyBufferBytes);

    private static void RequireLittleEndianHost()
    {
        // Tensor bytes are copied as they lie in memory; safetensors data is little-endian.
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors I/O here assumes a little-endian host.");
    }
}
