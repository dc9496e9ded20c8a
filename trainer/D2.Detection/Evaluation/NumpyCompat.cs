using System.Globalization;

namespace D2.Detection.Evaluation;

/// <summary>The few numpy/Python number behaviours the COCO numbers depend on, reproduced so that stats agree with
/// pycocotools to the last bit and printed values to the last digit.</summary>
internal static class NumpyCompat
{
    // numpy reduces contiguous float64 data in buffers of 8192 elements, each summed pairwise.
    const int ReduceBuffer = 8192;
    const int PairwiseBlock = 128;

    /// <summary>np.mean of a float64 vector (numpy 1.x: buffered pairwise summation, then one division).</summary>
    public static double Mean(ReadOnlySpan<double> values)
    {
        double sum = 0;
        for (var start = 0; start < values.Length; start += ReduceBuffer)
            sum += PairwiseSum(values.Slice(start, Math.Min(ReduceBuffer, values.Length - start)));
        return sum / values.Length;
    }

    static double PairwiseSum(ReadOnlySpan<double> a)
    {
        var n = a.Length;
        if (n < 8)
        {
            double res = 0;
            for (var i = 0; i < n; i++)
                res += a[i];
            return res;
        }
        if (n <= PairwiseBlock)
        {
            double r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7];
            var i = 8;
            for (; i < n - n % 8; i += 8)
            {
                r0 += a[i];
                r1 += a[i + 1];
                r2 += a[i + 2];
                r3 += a[i + 3];
                r4 += a[i + 4];
                r5 += a[i + 5];
                r6 += a[i + 6];
                r7 += a[i + 7];
            }
            var res = (r0 + r1 + (r2 + r3)) + (r4 + r5 + (r6 + r7));
            for (; i < n; i++)
                res += a[i];
            return res;
        }
        var half = n / 2;
        half -= half % 8;
        return PairwiseSum(a[..half]) + PairwiseSum(a[half..]);
    }

    /// <summary>Python's <c>'{:0.3f}'.format(x)</c>: like .NET's F3, except that an exact tie rounds to even
    /// (Python rounds the exact binary value; the only exact ties at 3 decimals are odd multiples of 1/16).</summary>
    public static string Fixed3(double value)
    {
        var sixteenths = value * 16;
        if (double.IsFinite(value) && Math.Floor(sixteenths) == sixteenths && Math.Abs(sixteenths % 2) == 1)
            value = Math.Round(value, 3, MidpointRounding.ToEven);
        return value.ToString("F3", CultureInfo.InvariantCulture);
    }
}
