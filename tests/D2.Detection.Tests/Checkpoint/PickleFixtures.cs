namespace D2.Detection.Tests.Checkpoint;

/// <summary>Pickles made by the real CPython + numpy, kept small and base64-encoded (no binary files in the repository).</summary>
internal static class PickleFixtures
{
    /// <summary>
    /// Python 3.11, numpy 1.24: <c>pickle.dumps({"model": {"w": np.arange(4, dtype=np.float32).reshape(2, 2),
    /// "d": np.array([0.25, -8.0])}, "__author__": "numpy-protocol-5"}, protocol=5)</c> (FRAME, STACK_GLOBAL, MEMOIZE,
    /// and numpy's in-band <c>_frombuffer</c> with BYTEARRAY8).
    /// </summary>
    public const string Protocol5 =
        "gAWVCAEAAAAAAAB9lCiMBW1vZGVslH2UKIwBd5SMEm51bXB5LmNvcmUubnVtZXJpY5SMC19mcm9tYnVmZmVylJOUKJYQAAAAAAAAAAAAAAAAAIA/AAAAQAAAQECUjAVudW1weZSMBWR0eXBllJOUjAJmNJSJiIeUUpQoSwOMATyUTk5OSv////9K/////0sAdJRiSwJLAoaUjAFDlHSUUpSMAWSUaAYolhAAAAAAAAAAAAAAAAAA0D8AAAAAAAAgwJRoCowCZjiUiYiHlFKUKEsDaA5OTk5K/////0r/////SwB0lGJLAoWUaBF0lFKUdYwKX19hdXRob3JfX5SMEG51bXB5LXByb3RvY29sLTWUdS4=";

    /// <summary>
    /// Python 3.11, numpy 1.24: <c>pickle.dumps(collections.OrderedDict([("be", np.array([1.0, -2.0], dtype=">f4")),
    /// ("f", np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)))]), protocol=4)</c> (big-endian data,
    /// Fortran order, an OrderedDict).
    /// </summary>
    public const string Protocol4 =
        "gASVGAEAAAAAAACMC2NvbGxlY3Rpb25zlIwLT3JkZXJlZERpY3SUk5QpUpQojAJiZZSMFW51bXB5LmNvcmUubXVsdGlhcnJheZSMDF9yZWNvbnN0cnVjdJSTlIwFbnVtcHmUjAduZGFycmF5lJOUSwCFlEMBYpSHlFKUKEsBSwKFlGgIjAVkdHlwZZSTlIwCZjSUiYiHlFKUKEsDjAE+lE5OTkr/////Sv////9LAHSUYolDCD+AAADAAAAAlHSUYowBZpRoB2gKSwCFlGgMh5RSlChLAUsCSwOGlGgRjAJpNJSJiIeUUpQoSwOMATyUTk5OSv////9K/////0sAdJRiiEMYAAAAAAMAAAABAAAABAAAAAIAAAAFAAAAlHSUYnUu";

    /// <summary>
    /// What Python 2's cPickle (protocol 2) writes for <c>{'w': np.array([1.0, 2.0], dtype=np.float32)}</c>: byte strings as
    /// SHORT_BINSTRING (the data among them, bytes >= 0x80 included) and dtype flags as ints (older numpy). Written by hand;
    /// Python 3 reads it with <c>pickle.loads(b, encoding="latin1")</c> to that dict.
    /// </summary>
    public static readonly byte[] Python2 = Bytes(
        0x80, 2, '}', 'q', 1, 'U', 1, "w", 'q', 2, "cnumpy.core.multiarray\n_reconstruct\n", 'q', 3, "cnumpy\nndarray\n", 'q', 4,
        'K', 0, 0x85, 'q', 5, 'U', 1, "b", 'q', 6, 0x87, 'R', 'q', 7,
        '(', 'K', 1, 'K', 2, 0x85, 'q', 8, "cnumpy\ndtype\n", 'q', 9, 'U', 2, "f4", 'K', 0, 'K', 1, 0x87, 'R', 'q', 10,
        '(', 'K', 3, 'U', 1, "<", "NNN", 'J', 0xff, 0xff, 0xff, 0xff, 'J', 0xff, 0xff, 0xff, 0xff, 'K', 0, 't', 'b',
        0x89, 'U', 8, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 't', 'b', 's', '.');

    /// <summary>Pickle bytes from opcodes (chars), raw bytes (ints) and ASCII text (strings).</summary>
    public static byte[] Bytes(params object[] parts) => parts.SelectMany(part => part switch
    {
        char c => new[] { (byte)c },
        int b => new[] { checked((byte)b) },
        string text => System.Text.Encoding.ASCII.GetBytes(text),
        _ => throw new ArgumentException($"unexpected part {part}"),
    }).ToArray();
}
