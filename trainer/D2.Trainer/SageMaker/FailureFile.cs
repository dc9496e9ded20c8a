using D2.Detection.Checkpoint;

namespace D2.Trainer.SageMaker;

/// <summary>
/// /opt/ml/output/failure: SageMaker shows its first 1024 characters as the job's FailureReason. Like the training
/// toolkit, an existing file is kept (the first failure is the cause); the write is atomic.
/// </summary>
internal static class FailureFile
{
    public const int ShownCharacters = 1024;

    public static void Write(string path, string reason)
    {
        try
        {
            if (File.Exists(path))
                return;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.WriteAllText(path, reason.Length > ShownCharacters ? reason[..(ShownCharacters - 3)] + "..." : reason);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"d2 train: could not write {path}: {e.Message}");
        }
    }
}
