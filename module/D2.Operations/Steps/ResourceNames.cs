using System.Globalization;
using System.Text.RegularExpressions;

namespace D2.Operations.Steps;

/// <summary>
/// Names of the resources the operations create: <c>{prefix}-{yyyyMMdd-HHmmss}</c> in UTC, at most 63 characters and
/// valid for SageMaker's name pattern (<c>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}</c>, which also satisfies ModelName's).
/// </summary>
public static partial class ResourceNames
{
    public const int MaxLength = 63;

    private const string StampFormat = "yyyyMMdd-HHmmss";

    /// <summary>The prefix with every character SageMaker refuses replaced by '-', without leading or trailing '-'.</summary>
    public static string Sanitize(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return Invalid().Replace(prefix, "-").Trim('-');
    }

    /// <summary>
    /// <c>{prefix}-{yyyyMMdd-HHmmss}</c>; a long prefix is cut (never the time stamp, which makes the name unique).
    /// </summary>
    /// <exception cref="ArgumentException">The prefix has no letter or digit.</exception>
    public static string Timestamped(string prefix, DateTimeOffset now)
    {
        var clean = Sanitize(prefix);
        if (clean.Length == 0)
        {
            throw new ArgumentException($"Name prefix '{prefix}' has no letter or digit.", nameof(prefix));
        }

        var stamp = now.UtcDateTime.ToString(StampFormat, CultureInfo.InvariantCulture);
        var room = MaxLength - stamp.Length - 1;
        if (clean.Length > room)
        {
            clean = clean[..room].TrimEnd('-');
        }

        return $"{clean}-{stamp}";
    }

    [GeneratedRegex("[^a-zA-Z0-9-]+")]
    private static partial Regex Invalid();
}
