namespace D2.Operations.Pipeline;

/// <summary>Writes through a temporary name in the same folder and renames, so a reader never sees half a file.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<string> writeTemp)
    {
        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            writeTemp(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
