using System.Runtime.InteropServices;

namespace D2.DeviceChecks;

/// <summary>The few CUDA runtime calls the NCCL check needs (cuda_runtime_api.h), bound from whichever libcudart is on the path.</summary>
internal sealed class CudaRuntime
{
    private const int HostToDevice = 1;
    private const int DeviceToHost = 2;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetDeviceCountFn(out int count);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int SetDeviceFn(int device);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int MallocFn(out IntPtr pointer, nuint size);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int FreeFn(IntPtr pointer);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int MemcpyFn(IntPtr destination, IntPtr source, nuint count, int kind);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int DeviceSynchronizeFn();

    private readonly GetDeviceCountFn _getDeviceCount;
    private readonly SetDeviceFn _setDevice;
    private readonly MallocFn _malloc;
    private readonly FreeFn _free;
    private readonly MemcpyFn _memcpy;
    private readonly DeviceSynchronizeFn _synchronize;

    private CudaRuntime(IntPtr library, string name)
    {
        LibraryName = name;
        _getDeviceCount = Bind<GetDeviceCountFn>(library, "cudaGetDeviceCount");
        _setDevice = Bind<SetDeviceFn>(library, "cudaSetDevice");
        _malloc = Bind<MallocFn>(library, "cudaMalloc");
        _free = Bind<FreeFn>(library, "cudaFree");
        _memcpy = Bind<MemcpyFn>(library, "cudaMemcpy");
        _synchronize = Bind<DeviceSynchronizeFn>(library, "cudaDeviceSynchronize");
    }

    public string LibraryName { get; }

    public static CudaRuntime Load()
    {
        foreach (var name in new[] { "libcudart.so.13", "libcudart.so.12", "libcudart.so" })
            if (NativeLibrary.TryLoad(name, out var handle))
                return new CudaRuntime(handle, name);
        throw new DllNotFoundException("No libcudart.so.13/12 on the library path (LD_LIBRARY_PATH).");
    }

    public int DeviceCount()
    {
        Check(_getDeviceCount(out var count), "cudaGetDeviceCount");
        return count;
    }

    public void SetDevice(int device) => Check(_setDevice(device), "cudaSetDevice");

    public void Synchronize() => Check(_synchronize(), "cudaDeviceSynchronize");

    /// <summary>Device memory holding a copy of <paramref name="values"/>.</summary>
    public unsafe IntPtr Upload<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var bytes = (nuint)(values.Length * sizeof(T));
        Check(_malloc(out var pointer, bytes), "cudaMalloc");
        fixed (T* source = values)
            Check(_memcpy(pointer, (IntPtr)source, bytes, HostToDevice), "cudaMemcpy H2D");
        return pointer;
    }

    public unsafe T[] Download<T>(IntPtr pointer, int count) where T : unmanaged
    {
        var values = new T[count];
        fixed (T* destination = values)
            Check(_memcpy((IntPtr)destination, pointer, (nuint)(count * sizeof(T)), DeviceToHost), "cudaMemcpy D2H");
        return values;
    }

    public void Free(IntPtr pointer) => Check(_free(pointer), "cudaFree");

    private static void Check(int error, string call)
    {
        if (error != 0)
            throw new InvalidOperationException($"{call} failed with cudaError {error}.");
    }

    private static T Bind<T>(IntPtr library, string name) where T : Delegate =>
        Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));
}
