namespace D2.Detection.Checkpoint;

/// <summary>
/// Writes a file so that readers only ever see the old content or the complete new content: the bytes go to a
/// temporary file in the same folder (same file system, so the rename is atomic), which replaces the target only once
/// it is complete and flushed. A writer that throws leaves the target untouched and no temporary file behind.
/// </summary>
public static class AtomicFile
{
    /// <param name="path">the file to create or replace; its folder is created if needed</param>
    /// <param name="write">writes the whole content to the stream it is given</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' has no folder.", nameof(path));
        Directory.CreateDirectory(directory);
        // A leading dot and a random tail keep the temporary file out of checkpoint listings and apart from concurrent writers.
        var temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                // Flush to the device before the rename, so a crash cannot leave a renamed but empty file.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Writes UTF-8 text (no byte-order mark) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            var bytes = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
            stream.Write(bytes);
        });

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The original exception matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
