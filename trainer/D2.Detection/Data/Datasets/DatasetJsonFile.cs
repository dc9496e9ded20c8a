using System.Text.Json;
using D2.Detection.Evaluation;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// Reads an annotations file with the COCO evaluation reader's helpers (<see cref="CocoJson"/>), so that training and
/// evaluation report a missing file, a directory, invalid JSON (with line and position) or a malformed field in the
/// same words; here they surface as <see cref="DatasetException"/>.
/// </summary>
internal static class DatasetJsonFile
{
    /// <exception cref="DatasetException">the file is missing, unreadable or not valid JSON.</exception>
    public static JsonDocument Parse(string path) => Translate(() => CocoJson.ParseFile(path));

    /// <summary>Runs a reader built on <see cref="CocoJson"/>, turning its errors into <see cref="DatasetException"/>.</summary>
    public static T Translate<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (CocoFormatException e)
        {
            throw new DatasetException(e.SourceName, e.Problem, e);
        }
    }
}
