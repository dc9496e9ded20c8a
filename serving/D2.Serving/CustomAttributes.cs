using System.Globalization;

namespace D2.Serving;

/// <summary>
/// Per-request options from <c>X-Amzn-SageMaker-Custom-Attributes</c> (forwarded verbatim by InvokeEndpoint), as
/// <c>key=value</c> pairs separated by commas or semicolons: <c>score_threshold</c> (0..1, drop lower scores),
/// <c>max_detections</c> (keep the highest-scoring N), <c>masks=false</c> (leave pred_masks_rle out). Other keys are
/// ignored, since SageMaker and other tools put their own there; a known key with a bad value is a 400.
/// </summary>
internal sealed record CustomAttributes(double ScoreThreshold = 0, int? MaxDetections = null, bool Masks = true)
{
    public const string Header = "X-Amzn-SageMaker-Custom-Attributes";

    public static readonly CustomAttributes Default = new();

    public bool FiltersInstances => ScoreThreshold > 0 || MaxDetections is not null || !Masks;

    /// <exception cref="ClientInputException">a known option has a value it cannot take (400)</exception>
    public static CustomAttributes Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
            return Default;
        var result = Default;
        foreach (var item in header.Split([',', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
                continue;
            var key = item[..equals].Trim().ToLowerInvariant();
            var value = item[(equals + 1)..].Trim();
            result = key switch
            {
                "score_threshold" => result with
                {
                    ScoreThreshold = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && t is >= 0 and <= 1 ? t
                        : throw Bad($"score_threshold must be a number from 0 to 1, not '{value}'"),
                },
                "max_detections" => result with
                {
                    MaxDetections = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                        : throw Bad($"max_detections must be a non-negative integer, not '{value}'"),
                },
                "masks" => result with
                {
                    Masks = value.ToLowerInvariant() switch
                    {
                        "true" or "1" or "yes" => true,
                        "false" or "0" or "no" => false,
                        _ => throw Bad($"masks must be true or false, not '{value}'"),
                    },
                },
                _ => result,
            };
        }
        return result;
    }

    static ClientInputException Bad(string reason) =>
        new(StatusCodes.Status400BadRequest, $"{Header}: {reason} (options: score_threshold=0.5, max_detections=100, masks=false).");
}
