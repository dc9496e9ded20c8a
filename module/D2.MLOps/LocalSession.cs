using D2.Operations.Local;

namespace D2.MLOps;

/// <summary>The local SageMaker of this PowerShell process (Start-/Stop-D2LocalSageMaker), reached by -Local.</summary>
internal static class LocalSession
{
    private static readonly object Gate = new();

    public static LocalSageMakerServer? Server { get; private set; }

    public static void Set(LocalSageMakerServer? server)
    {
        lock (Gate)
        {
            Server = server;
        }
    }
}
