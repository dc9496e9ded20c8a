namespace D2.Operations.Tests.Local;

/// <summary>The tests/LocalServingStub build output, run with the same dotnet host as the tests.</summary>
internal static class ServingStub
{
    public static IReadOnlyList<string> Command
    {
        get
        {
            // bin/{Configuration}/{tfm}/ of this test project mirrors the stub's.
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = tfm.Parent!;
            var testsFolder = configuration.Parent!.Parent!.Parent!;
            var dll = Path.Combine(testsFolder.FullName, "LocalServingStub", "bin", configuration.Name, tfm.Name, "LocalServingStub.dll");
            if (!File.Exists(dll))
                Assert.Fail($"The serving stub is not built at {dll}.");
            var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            return [string.IsNullOrEmpty(dotnet) ? "dotnet" : dotnet, dll];
        }
    }
}
