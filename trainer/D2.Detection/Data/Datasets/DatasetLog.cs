namespace D2.Detection.Data.Datasets;

/// <summary>
/// Where the loaders report what Detectron2 logs while building dataset dicts (dropped annotations, filtered images).
/// Lines go to the given writer, or to standard error so that they never mix with a command's own output.
/// </summary>
internal readonly struct DatasetLog(TextWriter? writer)
{
    TextWriter Writer => writer ?? Console.Error;

    public void Info(string message) => Writer.WriteLine($"[datasets] {message}");

    public void Warning(string message) => Writer.WriteLine($"[datasets] WARNING {message}");
}
