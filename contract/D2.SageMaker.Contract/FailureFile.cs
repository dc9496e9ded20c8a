using System.Text;

namespace D2.SageMaker.Contract;

/// <summary>
/// /opt/ml/output/failure: SageMaker shows its first 1024 characters as the job's FailureReason. The text starts with
/// the error class of SageMaker's built-in algorithms: <c>ClientError: </c> for the job's input (exit code 2),
/// <c>AlgorithmError: </c> for a failure of the trainer (exit code 1). Like the training toolkit, an existing file is
/// kept (the first failure is the cause); the write is atomic, so a reader never sees half a reason.
/// </summary>
public static class FailureFile
{
    /// <summary>How much of the file SageMaker shows as FailureReason.</summary>
    public const int ShownCharacters = 1024;

    public const string ClientErrorClass = "ClientError";

    public const string AlgorithmErrorClass = "AlgorithmError";

    private const string Separator = ": ";

    /// <summary>A reason blaming the job's input: <c>ClientError: {message}</c>.</summary>
    public static string ClientError(string message) => ClientErrorClass + Separator + message;

    /// <summary>A reason blaming the trainer: <c>AlgorithmError: {message}</c>.</summary>
    public static string AlgorithmError(string message) => AlgorithmErrorClass + Separator + message;

    /// <summary>Splits a reason into its error class and the rest; false when it does not start with one.</summary>
    public static bool TrySplit(string reason, out string errorClass, out string message)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var colon = reason.IndexOf(Separator, StringComparison.Ordinal);
        if (colon > 0 && reason[..colon] is ClientErrorClass or AlgorithmErrorClass)
        {
            errorClass = reason[..colon];
            message = reason[(colon + Separator.Length)..];
            return true;
        }
        errorClass = "";
        message = reason;
        return false;
    }

    /// <summary>
    /// Writes <paramref name="reason"/> unless the file exists, cut to <see cref="ShownCharacters"/> (ending in "...").
    /// A file that cannot be written is reported on <paramref name="errors"/> (default stderr), never thrown: the exit
    /// code still tells SageMaker the job failed.
    /// </summary>
    public static void Write(string path, string reason, TextWriter? errors = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(reason);
        try
        {
            if (File.Exists(path))
                return;
            var text = reason.Length > ShownCharacters ? reason[..(ShownCharacters - 3)] + "..." : reason;
            var fullPath = Path.GetFullPath(path);
            var directory = Path.GetDirectoryName(fullPath)!;
            Directory.CreateDirectory(directory);
            var temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
            try
            {
                using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    stream.Write(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));
                    stream.Flush(flushToDisk: true);
                }
                // Not over a file another process wrote meanwhile: the first failure stays the cause.
                File.Move(temporary, fullPath, overwrite: false);
            }
            catch (IOException) when (File.Exists(fullPath))
            {
            }
            finally
            {
                File.Delete(temporary);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            (errors ?? Console.Error).WriteLine($"could not write the failure file {path}: {e.Message}");
        }
    }

    /// <summary>The reason as SageMaker reports it (trimmed, at most <see cref="ShownCharacters"/>), or null when the file is missing or empty.</summary>
    public static string? Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            return null;
        var text = File.ReadAllText(path).Trim();
        return text.Length == 0 ? null : text.Length <= ShownCharacters ? text : text[..ShownCharacters];
    }
}
