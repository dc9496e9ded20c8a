using System.Globalization;
using System.Text.Json;
using D2.Build.Engine;
using D2.Build.Tools;

namespace D2.Build;

public enum BuildConfiguration { Debug, Release }

public enum TorchBackend { Cpu, Cuda }

/// <summary>The target graph, top to bottom. `./build.sh --help` is generated from these declarations.</summary>
public sealed class Build : BuildBase
{
    public static Task<int> Main(string[] args) => BuildRunner.RunAsync(new Build(), args, defaultTarget: nameof(Compile));

    [Parameter("Configuration to build")]
    public BuildConfiguration Configuration = BuildConfiguration.Release;

    [Parameter("Torch native backend restored for TorchSharp (cuda needs the CUDA libtorch package, served on CI runners)")]
    public TorchBackend TorchBackend = TorchBackend.Cpu;

    [Parameter("Test filter passed to dotnet test --filter, e.g. FullyQualifiedName~RoiAlign")]
    public string? TestFilter;

    [Parameter("Bench filter: a BenchmarkDotNet filter such as *Nms*, or memory / trainloop for that check alone (default: everything)")]
    public string? BenchFilter;

    string Solution => Root("MLOps.sln");
    string ArtifactsDirectory => Root("artifacts");
    string TestResultsDirectory => Root("artifacts", "test-results");
    string[] MSBuildProperties => [$"-p:TorchBackend={TorchBackend.ToString().ToLowerInvariant()}"];

    Target Clean => _ => _
        .Description("Delete bin/ and obj/ of every project and the artifacts (the native-fix cache is kept)")
        .Before(Restore)
        .Executes(() =>
        {
            foreach (var folder in new[] { "trainer", "serving", "module", "tests" }.Select(f => Root(f)).Where(Directory.Exists))
                foreach (var output in Directory.EnumerateDirectories(folder, "*", SearchOption.AllDirectories)
                             .Where(d => Path.GetFileName(d) is "bin" or "obj").ToList())
                    if (Directory.Exists(output))
                        Directory.Delete(output, recursive: true);
            if (Directory.Exists(ArtifactsDirectory))
                foreach (var entry in Directory.EnumerateFileSystemEntries(ArtifactsDirectory).Where(e => Path.GetFileName(e) != "native"))
                    if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);
        });

    Target Restore => _ => _
        .Description("Restore NuGet packages and the local tools (PowerShell 7 as `dotnet pwsh`)")
        .Executes(async () =>
        {
            await ProcessTasks.RunAsync("dotnet", ["tool", "restore"], RootDirectory);
            await ProcessTasks.RunAsync("dotnet", ["restore", Solution, .. MSBuildProperties], RootDirectory);
        });

    Target Compile => _ => _
        .Description("Build the solution (warnings are errors)")
        .DependsOn(Restore)
        .Executes(() => ProcessTasks.RunAsync("dotnet",
            ["build", Solution, "--no-restore", "-c", Configuration.ToString(), "-nologo", .. MSBuildProperties], RootDirectory));

    Target Test => _ => _
        .Description("Run every NUnit project; TRX results under artifacts/test-results")
        .DependsOn(Compile)
        .Executes(async () =>
        {
            if (Directory.Exists(TestResultsDirectory))
                Directory.Delete(TestResultsDirectory, recursive: true);
            string[] filter = TestFilter is { Length: > 0 } ? ["--filter", TestFilter] : [];
            Exception? failure = null;
            try
            {
                await ProcessTasks.RunAsync("dotnet",
                    ["test", Solution, "--no-build", "-c", Configuration.ToString(), "--logger", "trx", "--logger", "console;verbosity=normal",
                     "--results-directory", TestResultsDirectory, .. filter], RootDirectory);
            }
            catch (BuildFailedException e)
            {
                failure = e;
            }
            var summary = TestResultSummary.FromTrxDirectory(TestResultsDirectory);
            Note(summary.ToString());
            AddClosingLine(summary.ToString());
            if (summary.Failed > 0)
                throw new BuildFailedException($"{summary.Failed} test(s) failed; details in {TestResultsDirectory}.");
            if (failure is not null)
                throw failure;
            if (summary.Files == 0 || summary.Passed == 0)
                throw new BuildFailedException($"No test ran (no passing results in {TestResultsDirectory}).");
        });

    string ModuleDirectory => Root("artifacts", "module", "D2.MLOps");

    Target Module => _ => _
        .Description("Lay out the PowerShell module (manifest, assemblies with their dependencies, MAML help, formats) in artifacts/module/D2.MLOps: Import-Module that folder")
        .DependsOn(Restore)
        .Executes(async () =>
        {
            var project = Root("module", "D2.MLOps", "D2.MLOps.csproj");
            await ProcessTasks.RunAsync("dotnet", ["build", project, "--no-restore", "-c", Configuration.ToString(), "-nologo", .. MSBuildProperties], RootDirectory);
            var output = Root("module", "D2.MLOps", "bin", Configuration.ToString(), "net10.0");
            if (Directory.Exists(ModuleDirectory))
                Directory.Delete(ModuleDirectory, recursive: true);
            foreach (var file in Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(ModuleDirectory, Path.GetRelativePath(output, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
            foreach (var required in new[] { "D2.MLOps.psd1", "D2.MLOps.dll", "D2.Operations.dll", "D2.MLOps.dll-Help.xml", "D2.MLOps.format.ps1xml" })
                if (!File.Exists(Path.Combine(ModuleDirectory, required)))
                    throw new BuildFailedException($"The module layout lacks {required}.");
            AddClosingLine($"Module: Import-Module {ModuleDirectory}");
        });

    [Parameter("Training iterations of the demo (the small CPU config's schedule is scaled to it)")]
    public int DemoIterations = 350;

    string DemoDirectory => Root("artifacts", "demo");
    string D2Dll => Root("trainer", "D2.Trainer", "bin", Configuration.ToString(), "net10.0", "d2.dll");
    string ServingDll => Root("serving", "D2.Serving", "bin", Configuration.ToString(), "net10.0", "D2.Serving.dll");

    Target Demo => _ => _
        .Description("The main job, locally: synthetic balloons -> training job on the local SageMaker (the trainer's /opt/ml contract) -> evaluation -> endpoint served by D2.Serving -> invoke (JSON + PNG overlays) -> delete (artifacts/demo)")
        .DependsOn(Compile)
        .Executes(async () =>
        {
            if (DemoIterations < 20)
                throw new BuildUsageException($"--demo-iterations must be at least 20, not {DemoIterations}.");
            var result = await new Demo.LocalDemo(RootDirectory, DemoDirectory, D2Dll, ServingDll, DemoIterations, Console.Out).RunAsync();
            string Ap(string name) => result.Metrics.TryGetValue(name, out var value) ? value.ToString("F1", CultureInfo.InvariantCulture) : "n/a";
            var summary = $"balloon val: bbox AP50 {Ap("bbox/AP50")}, AP {Ap("bbox/AP")}; segm AP50 {Ap("segm/AP50")}, AP {Ap("segm/AP")}";
            Note(summary);
            AddClosingLine($"Demo: {summary}");
            AddClosingLine($"  model:       {result.ModelArtifacts}");
            AddClosingLine($"  job /opt/ml: {Path.Combine(result.JobFolder, "opt", "ml")} (metrics.json, evaluation.json under output/data)");
            AddClosingLine($"  predictions: {result.Predictions} ({result.Overlays} images: JSON + PNG overlay from the local endpoint)");
        });

    Target Bench => _ => _
        .Description("Benchmarks against a baseline in the same run (BenchmarkDotNet, short job: NMS and ROIAlign against their peers, Mask R-CNN R50-FPN speed) the training-loop timing (s/iteration, data_time) and memory checks; reports under artifacts/benchmarks")
        .DependsOn(Compile)
        .Executes(async () =>
        {
            string[] project = ["run", "--no-build", "-c", Configuration.ToString(), "--project", Root("tests", "D2.Benchmarks"), "--"];
            // No filter: everything; "memory" or "trainloop": only that check; any other filter: only the matching benchmarks.
            foreach (var check in new[] { "memory", "trainloop" })
                if (BenchFilter is null or "" || BenchFilter == check)
                    await ProcessTasks.RunAsync("dotnet", [.. project, check], RootDirectory);
            if (BenchFilter is not ("memory" or "trainloop"))
                await ProcessTasks.RunAsync("dotnet",
                    [.. project, "--filter", BenchFilter is { Length: > 0 } ? BenchFilter : "*", "--artifacts", Root("artifacts", "benchmarks")], RootDirectory);
        });

}
