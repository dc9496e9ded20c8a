using System.Globalization;

namespace D2.Detection.Engine;

/// <summary>Python's number and duration formatting, so log lines read exactly as Detectron2 prints them.</summary>
public static class PythonFormat
{
    /// <summary>Python's <c>format(value, ".{precision}g")</c>: <c>0.7295</c>, <c>1.6068e-05</c>, <c>inf</c>, <c>nan</c>.</summary>
    public static string General(double value, int precision)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(precision);
        if (double.IsNaN(value))
            return "nan";
        if (double.IsInfinity(value))
            return value > 0 ? "inf" : "-inf";
        // .NET's G uses the same rule (scientific when the exponent is < -4 or >= precision) and strips trailing zeros;
        // only the exponent's letter differs.
        return value.ToString("G" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    /// <summary>Python's <c>format(value, ".{digits}f")</c>.</summary>
    public static string Fixed(double value, int digits)
    {
        if (double.IsNaN(value))
            return "nan";
        if (double.IsInfinity(value))
            return value > 0 ? "inf" : "-inf";
        return value.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>Python's <c>str(datetime.timedelta(seconds=n))</c>: <c>0:02:18</c>, <c>1 day, 2:03:04</c>, <c>3 days, 0:00:00</c>.</summary>
    public static string TimeDelta(long seconds)
    {
        var days = Math.DivRem(seconds, 86_400, out var rest);
        if (rest < 0)
        {
            days--;
            rest += 86_400;
        }
        var clock = string.Create(CultureInfo.InvariantCulture, $"{rest / 3600}:{rest / 60 % 60:00}:{rest % 60:00}");
        return days == 0 ? clock : string.Create(CultureInfo.InvariantCulture, $"{days} day{(Math.Abs(days) == 1 ? "" : "s")}, {clock}");
    }
}
