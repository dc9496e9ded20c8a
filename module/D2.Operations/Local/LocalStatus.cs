using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// The client's status enums (<c>TrainingJobStatus</c>, <c>SecondaryStatus</c>, <c>EndpointStatus</c>) on the records the
/// local SageMaker keeps: their member names are the service model's wire values, so a record reads as AWS's answer.
/// </summary>
internal static class LocalStatus
{
    public static string Wire<T>(T status)
        where T : struct, Enum => status.ToString();

    /// <summary>A status member of a record; a value this build does not know reads as the enum's <c>Unknown</c>.</summary>
    public static T Read<T>(JsonNode? value)
        where T : struct, Enum => Enum.TryParse<T>((string?)value, ignoreCase: false, out var status) ? status : default;
}
