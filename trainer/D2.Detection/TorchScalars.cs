using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection;

/// <summary>
/// TorchSharp Scalars that live for the whole process. TorchSharp 0.107 frees a Scalar's native c10::Scalar in its
/// finalizer and never keeps a Scalar argument alive across the libtorch call that reads it, so a Scalar made on the fly
/// (<c>t * 0.5</c>, <c>t.clamp(min: 0)</c>, <c>a + b</c>'s hidden alpha of 1) can be finalized mid-call (TorchSharp
/// #1434, #1496). These statics are rooted, so never finalized; a runtime value is held by the caller instead:
/// <c>using var s = value.ToScalar();</c>. The build's analyzer (analyzers/D2.Analyzers, D2S001/D2S002) enforces both.
/// The integral ones are int64 Scalars and the floating ones double Scalars, as C#'s int and double literals make them,
/// so dtype promotion is what the literal gave.
/// </summary>
public static class TorchScalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar Two = 2.ToScalar();
    public static readonly Scalar MinusOne = (-1).ToScalar();
    public static readonly Scalar IntMax = int.MaxValue.ToScalar();
    public static readonly Scalar LongMax = long.MaxValue.ToScalar();

    public static readonly Scalar ZeroFloat = 0.0.ToScalar();
    public static readonly Scalar HalfFloat = 0.5.ToScalar();
    public static readonly Scalar OneFloat = 1.0.ToScalar();
    public static readonly Scalar TwoFloat = 2.0.ToScalar();
    public static readonly Scalar MinusOneFloat = (-1.0).ToScalar();

    /// <summary><c>torch.arange(stop)</c> (0, 1, ..., stop - 1) with its Scalars held: TorchSharp's overload makes three.</summary>
    public static Tensor Arange(long stop, ScalarType? dtype = null, Device? device = null)
    {
        using var end = stop.ToScalar();
        return arange(Zero, end, One, dtype, device);
    }

    /// <summary><c>torch.arange(start, stop)</c> with its Scalars held.</summary>
    public static Tensor Arange(long start, long stop, ScalarType? dtype = null, Device? device = null)
    {
        using Scalar begin = start.ToScalar(), end = stop.ToScalar();
        return arange(begin, end, One, dtype, device);
    }
}
