using System.Runtime.InteropServices;

namespace D2.Detection;

/// <summary>
/// glibc malloc settings for a process that runs the same forward pass again and again (D2.Serving, and the serving
/// bench's bare side so both sides run alike). By default glibc hands freed memory back to the kernel (trims the heap
/// above 128 KiB of free space, unmaps large blocks) and libtorch mallocs and frees every CPU tensor of every pass, so
/// each pass faulted its working set back in: ~9,000 minor page faults per request and a served forward pass 4-8x
/// slower than with the settings below (README, serving section). Keeping blocks
/// up to 32 MiB on the heap and up to 256 MiB of freed heap for the next pass costs that much resident memory at most
/// and brings the faults to a few hundred per request. The top pad matters for threads other than the main one (the
/// server's model thread): their arenas grow in 64 MiB heaps, and glibc unmaps a heap as soon as it is wholly free,
/// whatever the trim threshold, unless the heap before it has room for the top pad; a pad of a whole heap keeps them,
/// without which a batch of 8 images (several heaps) faulted ~45,000 pages back in on every pass.
/// </summary>
public static class NativeAllocator
{
    // mallopt parameters (malloc.h).
    const int MTrimThreshold = -1;
    const int MTopPad = -2;
    const int MMmapThreshold = -3;

    /// <summary>Blocks up to this size come from the heap, not a fresh mmap (glibc's own ceiling for its dynamic threshold).</summary>
    public const int MmapThresholdBytes = 32 * 1024 * 1024;

    /// <summary>Freed heap kept for reuse before glibc returns any to the kernel.</summary>
    public const int TrimThresholdBytes = 256 * 1024 * 1024;

    /// <summary>Free space kept at the top of a heap: glibc's heap size for threads' arenas (2 x the largest mmap threshold),
    /// so that an emptied heap of the model thread's arena is never unmapped; address space only until it is touched.</summary>
    public const int TopPadBytes = 64 * 1024 * 1024;

    /// <summary>glibc's own variables: where an operator sets any of them, glibc's settings are left as they are.</summary>
    public static readonly string[] GlibcVariables =
        ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_", "GLIBC_TUNABLES"];

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int parameter, int value);

    /// <summary>Applies the settings above (glibc on Linux only; before the model loads).</summary>
    /// <returns>what was done, for the start-up log line</returns>
    public static string KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux())
            return "malloc: left as is (not Linux)";
        if (GlibcVariables.FirstOrDefault(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))) is { } set)
            return $"malloc: glibc's own settings ({set} is set)";
        try
        {
            // mallopt returns 1 on success; musl's stub returns 0.
            var applied = MallOpt(MMmapThreshold, MmapThresholdBytes) == 1 & MallOpt(MTrimThreshold, TrimThresholdBytes) == 1
                & MallOpt(MTopPad, TopPadBytes) == 1;
            return applied
                ? $"malloc: blocks up to {MmapThresholdBytes >> 20} MiB from the heap, {TrimThresholdBytes >> 20} MiB of freed heap kept, " +
                  $"{TopPadBytes >> 20} MiB top pad (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_TOP_PAD)"
                : "malloc: mallopt refused the settings (not glibc?)";
        }
        catch (EntryPointNotFoundException)
        {
            return "malloc: left as is (no mallopt)";
        }
    }
}
