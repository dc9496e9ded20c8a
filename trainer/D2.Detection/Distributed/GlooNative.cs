using System.Runtime.InteropServices;

namespace D2.Detection.Distributed;

/// <summary>
/// P/Invoke of libd2_gloo_shim.so (build/native/gloo/d2-gloo-shim.cpp, compiled by the build against Debian's
/// libgloo-dev). Functions return 0 on success; otherwise <see cref="LastError"/> says why.
/// </summary>
internal static class GlooNative
{
    public const string Library = "libd2_gloo_shim.so";

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int StoreSet(IntPtr user, IntPtr key, IntPtr data, nuint length);

    /// <summary>*data must be allocated with malloc (Marshal.AllocHGlobal on Unix); the shim frees it.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int StoreGet(IntPtr user, IntPtr key, out IntPtr data, out nuint length);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int StoreWait(IntPtr user, IntPtr keys, int count, long timeoutMs);

    [DllImport(Library, EntryPoint = "d2_gloo_last_error")]
    private static extern IntPtr LastErrorPointer();

    public static string LastError => Marshal.PtrToStringUTF8(LastErrorPointer()) ?? "unknown Gloo error";

    [DllImport(Library, EntryPoint = "d2_gloo_create")]
    public static extern int Create(int rank, int size, [MarshalAs(UnmanagedType.LPUTF8Str)] string hostname,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string iface, long timeoutMs, IntPtr user, StoreSet set, StoreGet get, StoreWait wait, out IntPtr group);

    [DllImport(Library, EntryPoint = "d2_gloo_destroy")]
    public static extern void Destroy(IntPtr group);

    [DllImport(Library, EntryPoint = "d2_gloo_allreduce_f32")]
    public static extern int AllReduceFloat32(IntPtr group, ref byte data, nuint count, int op, uint tag);

    [DllImport(Library, EntryPoint = "d2_gloo_broadcast")]
    public static extern int Broadcast(IntPtr group, ref byte data, nuint bytes, int root, uint tag);

    [DllImport(Library, EntryPoint = "d2_gloo_allgatherv")]
    public static extern int AllGatherV(IntPtr group, ref byte input, nuint bytes, ref byte output, nuint[] counts, uint tag);

    [DllImport(Library, EntryPoint = "d2_gloo_barrier")]
    public static extern int Barrier(IntPtr group, uint tag);
}
