using D2.Operations.Local;

namespace D2.Build.Pipeline;

/// <summary>
/// The local SageMaker that `--local` targets talk to: state under one root (artifacts/local-sagemaker by default), so
/// a `Deploy --local` in a later build run finds the job a `Train --local` made (the server keeps its state on disk
/// and restarts endpoints that were serving). Training runs the built trainer (`dotnet d2.dll`), endpoints the built
/// server (`dotnet D2.Serving.dll`), as the images would.
/// </summary>
internal static class LocalSageMaker
{
    public static Task<LocalSageMakerServer> StartAsync(string root, string d2Dll, string servingDll, string region, TextWriter? log)
    {
        foreach (var dll in new[] { d2Dll, servingDll })
            if (!File.Exists(dll))
                throw new Engine.BuildFailedException($"{dll} is not built; run ./build.sh Compile first (or leave out --skip).");
        return LocalSageMakerServer.StartAsync(new LocalSageMakerOptions
        {
            Root = root,
            Region = region,
            TrainingCommand = ["dotnet", d2Dll],
            ServingCommand = ["dotnet", servingDll],
            Log = log,
        });
    }
}
