using System.Buffers.Binary;
using System.Text;

namespace D2.Detection.Distributed;

/// <summary>
/// The wire format of <see cref="TcpStoreServer"/> and <see cref="TcpStore"/>: a request is an op byte, a UTF-8 key
/// (int32 length + bytes) and the op's arguments; every integer is little-endian. Replies start with a status byte.
/// </summary>
internal static class StoreProtocol
{
    public const byte Set = 1;      // + int32 length + value                    -> status
    public const byte Get = 2;      // + int64 timeout ms                        -> status [+ int32 length + value]
    public const byte Add = 3;      // + int64 delta                             -> status + int64 new value
    public const byte Wait = 4;     // + int64 timeout ms                        -> status
    public const byte Check = 5;    //                                           -> status (Ok: present, Missing: absent)

    public const byte Ok = 0;
    public const byte TimedOut = 1;
    public const byte Missing = 2;
    public const byte BadRequest = 3;

    /// <summary>Keys and values larger than this are refused (a guard against a corrupt length, not a real limit).</summary>
    public const int MaxLength = 1 << 30;

    public static async Task<int> ReadInt32Async(Stream stream, CancellationToken cancel)
    {
        var buffer = new byte[4];
        await stream.ReadExactlyAsync(buffer, cancel).ConfigureAwait(false);
        return BinaryPrimitives.ReadInt32LittleEndian(buffer);
    }

    public static async Task<long> ReadInt64Async(Stream stream, CancellationToken cancel)
    {
        var buffer = new byte[8];
        await stream.ReadExactlyAsync(buffer, cancel).ConfigureAwait(false);
        return BinaryPrimitives.ReadInt64LittleEndian(buffer);
    }

    public static async Task<byte[]> ReadBlobAsync(Stream stream, CancellationToken cancel)
    {
        var length = await ReadInt32Async(stream, cancel).ConfigureAwait(false);
        if (length < 0 || length > MaxLength)
            throw new InvalidDataException($"Rendezvous store message with an invalid length {length}.");
        var buffer = new byte[length];
        await stream.ReadExactlyAsync(buffer, cancel).ConfigureAwait(false);
        return buffer;
    }

    public static void WriteInt32(Stream stream, int value)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(buffer, value);
        stream.Write(buffer);
    }

    public static void WriteInt64(Stream stream, long value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
        stream.Write(buffer);
    }

    public static void WriteBlob(Stream stream, ReadOnlySpan<byte> value)
    {
        WriteInt32(stream, value.Length);
        stream.Write(value);
    }

    public static void WriteKey(Stream stream, string key) => WriteBlob(stream, Encoding.UTF8.GetBytes(key));
}
