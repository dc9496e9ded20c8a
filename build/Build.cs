using System.Globalization;
using System.Text.Json;
using D2.Build.Engine;
using D2.Build.Images;
using D2.Build.Workflows;
using D2.Operations.Images;
using D2.Operations.Steps;
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

    [Parameter("Test filter passed to dotnet test --filter, e.g. FullyQualifiedName~ROIAlign")]
    public string? TestFilter;

    [Parameter("Bench filter: a BenchmarkDotNet filter such as *NMS*, or memory / trainloop / serving / batching / allreduce / coco-scale / roialign-peak for that check alone (default: everything)")]
    public string? BenchFilter;

    [Parameter("Bench: run only the side-by-side comparison with this peer (torchvision: Debian's python3-torch/python3-torchvision, installed when missing and root)")]
    public string? Peer;

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

    // ---- Images per GPU architecture (build/gpu-archs.json), ECR ----

    [Parameter("Architectures of build/gpu-archs.json for Images/Push (names, space or comma separated; default: all)")]
    public string[]? Arch;

    [Parameter("Images: print the exact docker buildx commands of every selected architecture and run no Docker")]
    public bool ImagePlan;

    [Parameter("Registry host the images are tagged for (default: the caller's ECR registry; localhost:5000 with --local or --image-plan)")]
    public string? Registry;

    [Parameter("Image version tag (default: the release tag v1.2.3 -> 1.2.3 on Actions, else 0.1.0-dev)")]
    public string? ImageVersion;

    [Parameter("Docker client to run (default: docker on PATH)")]
    public string Docker = "docker";

    [Parameter("Use the local stand-ins instead of AWS: Train/Deploy the local SageMaker (state under --local-root); Push a registry at --registry, default localhost:5000, with no ECR and no login")]
    public bool Local;

    [Parameter("AWS region (default: AWS_REGION, the profile, then AWS_DEFAULT_REGION); with --local the region written into ARNs")]
    public string? Region;

    string? _imageRegistry;

    async Task<Operations.Images.ImagePlan> ImagesAsync()
    {
        _imageRegistry ??= Registry is { Length: > 0 } ? Registry
            : Local || ImagePlan ? ImageTasks.LocalRegistry
            : await ImageTasks.AwsRegistryAsync(AwsOperations, Registry);
        return ImageTasks.Plan(RootDirectory, Arch, _imageRegistry, ImageVersion);
    }

    OperationsContext AwsOperations => _awsOperations ??= OperationsContext.ForAws(Region);
    OperationsContext? _awsOperations;

    Target Publish => _ => _
        .Description("Self-contained linux-x64 publish of the trainer (d2) and the server (D2.Serving) for --torch-backend under artifacts/publish/{backend}/")
        .DependsOn(Restore)
        .Executes(async () =>
        {
            var backend = TorchBackend.ToString().ToLowerInvariant();
            foreach (var (project, name) in new[] { (Root("trainer", "D2.Trainer", "D2.Trainer.csproj"), "trainer"), (Root("serving", "D2.Serving", "D2.Serving.csproj"), "serving") })
                await ProcessTasks.RunAsync("dotnet", ["publish", project, "-c", Configuration.ToString(), "-r", "linux-x64", "--self-contained", "-nologo",
                    "-o", Root("artifacts", "publish", backend, name), .. MSBuildProperties], RootDirectory);
        });

    Target Images => _ => _
        .Description("Trainer and serving images per architecture of build/gpu-archs.json (--arch NAME) with docker buildx; --image-plan prints the commands instead")
        .Executes(async () =>
        {
            if (!ImagePlan && ImageTasks.DockerEngineProblem(Docker) is { } problem)
                throw new BuildFailedException($"Images needs a Docker engine: {problem}. Use --image-plan to print the commands without Docker.");
            var plan = await ImagesAsync();
            if (ImagePlan)
            {
                foreach (var build in plan.Builds)
                    Console.WriteLine(build.CommandLine());
                Note($"{plan.Builds.Count} image(s) planned, nothing built");
                return;
            }
            foreach (var build in plan.Builds)
                await ProcessTasks.RunAsync(Docker, build.BuildxArguments(), RootDirectory);
            Note($"{plan.Builds.Count} image(s) built");
        });

    Target Push => _ => _
        .Description("Push every tag of the images (--arch NAME): ECR repositories ensured, docker login with the ECR token on stdin; --local pushes to --registry (default localhost:5000) without ECR")
        .After(Images)
        .Executes(async () =>
        {
            if (ImagePlan)
                throw new BuildUsageException("Push does not take --image-plan (it would push nothing); use --plan to see what would run.");
            var plan = await ImagesAsync();
            var pusher = new ImagePusher(Docker, Console.Out);
            var pushed = Local ? await pusher.PushTagsAsync(plan) : await pusher.PushToEcrAsync(AwsOperations.Registry, plan);
            Note($"{pushed.Count} tag(s) pushed");
        });

    Target ImageMatrix => _ => _
        .Description("Write the images workflow's matrix (every architecture of build/gpu-archs.json) to $GITHUB_OUTPUT as matrix=JSON (and print it)")
        .Executes(() =>
        {
            var matrix = Operations.Matrix.GpuArchitectureMatrix.Load(Root(Operations.Matrix.GpuArchitectureMatrix.RelativePath));
            var line = "matrix=" + JsonSerializer.Serialize(new { include = matrix.Architectures.Select(a => new { name = a.Name }) });
            Console.WriteLine(line);
            if (Environment.GetEnvironmentVariable("GITHUB_OUTPUT") is { Length: > 0 } output)
                File.AppendAllText(output, line + "\n");
        });

    Target LintWorkflows => _ => _
        .Description("Validate every .github/workflows file with @action-validator/cli (npm; installed into build/workflow-lint when missing)")
        .Executes(async () =>
        {
            var validator = await WorkflowLint.EnsureValidatorAsync(RootDirectory);
            var failed = new List<string>();
            foreach (var workflow in WorkflowLint.WorkflowFiles(RootDirectory))
            {
                var (exit, report) = WorkflowLint.Validate(validator, workflow);
                Console.WriteLine($"{Path.GetFileName(workflow)}: {(exit == 0 ? "valid" : "INVALID")}");
                if (exit != 0)
                {
                    Console.WriteLine(report);
                    failed.Add(Path.GetFileName(workflow));
                }
            }
            if (failed.Count > 0)
                throw new BuildFailedException($"Invalid workflow(s): {string.Join(", ", failed)}.");
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
            foreach (var required in new[] { "D2.MLOps.psd1", "D2.MLOps.dll", "D2.Operations.dll", "D2.SageMaker.Contract.dll", "D2.MLOps.dll-Help.xml", "D2.MLOps.format.ps1xml" })
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

    /// <summary>Checks of tests/D2.Benchmarks that run as their own command rather than as BenchmarkDotNet benchmarks.</summary>
    static readonly string[] BenchChecks = ["memory", "trainloop", "serving", "batching", "allreduce", "coco-scale", "roialign-peak"];

    Target Bench => _ => _
        .Description("Benchmarks against a baseline in the same run (--peer torchvision: only the side-by-side run with torchvision's Mask R-CNN; BenchmarkDotNet, short job: NMS and ROIAlign against their peers, Mask R-CNN R50-FPN speed) the training-loop timing (s/iteration, data_time), memory, serving (overhead over the bare Predictor, batching off vs on) , all-reduce (2 Gloo workers) and coco-scale (COCO-sized json load, loader throughput) checks; reports under artifacts/benchmarks")
        .DependsOn(Compile)
        .Executes(async () =>
        {
            string[] project = ["run", "--no-build", "-c", Configuration.ToString(), "--project", Root("tests", "D2.Benchmarks"), "--"];
            if (Peer is { Length: > 0 })
            {
                await ProcessTasks.RunAsync("dotnet", [.. project, "peer", Peer, "--artifacts", Root("artifacts", "benchmarks")], RootDirectory);
                return;
            }
            // No filter: everything; the name of a check: only that check; any other filter: only the matching benchmarks.
            foreach (var check in BenchChecks)
                if (BenchFilter is null or "" || BenchFilter == check)
                    await ProcessTasks.RunAsync("dotnet", [.. project, check], RootDirectory);
            if (!BenchChecks.Contains(BenchFilter ?? ""))
                await ProcessTasks.RunAsync("dotnet",
                    [.. project, "--filter", BenchFilter is { Length: > 0 } ? BenchFilter : "*", "--artifacts", Root("artifacts", "benchmarks")], RootDirectory);
        });

    [Parameter("Train: the training profile JSON (module/D2.Operations/Steps/TrainingProfile.cs names its fields)")]
    public string? TrainingProfile;

    [Parameter("Train: override the profile's config-file hyperparameter (a model-zoo config name)")]
    public string? ConfigFile;

    [Parameter("Train: override the profile's instance type, e.g. ml.g5.2xlarge")]
    public string? InstanceType;

    [Parameter("Train: override managed spot training (true or false)")]
    public bool? Spot;

    [Parameter("Train/Deploy: state folder of the local SageMaker (default artifacts/local-sagemaker), kept between runs so Deploy finds Train's job")]
    public string? LocalRoot;

    [Parameter("Train: where report.md and its PNGs go (default artifacts/train-report)")]
    public string? ReportDirectory;

    [Parameter("Deploy: the training job whose model to deploy")]
    public string? Job;

    [Parameter("Deploy: a model.tar.gz URL to deploy (s3://, https://, or file:// with --local)")]
    public string? ModelData;

    [Parameter("Deploy: the deployment profile JSON (module/D2.Operations/Steps/DeploymentProfile.cs); optional with --local")]
    public string? DeploymentProfile;

    [Parameter("Deploy: override the profile's endpoint name")]
    public string? EndpointName;

    [Parameter("Deploy: the image (JPEG or PNG) of the smoke invoke (default: a small generated image)")]
    public string? SmokeImage;

    [Parameter("Train/Deploy: seconds between status polls (default 30 on AWS, 1 with --local)")]
    public int? PollSeconds;

    string LocalSageMakerRoot => Path.GetFullPath(LocalRoot ?? Root("artifacts", "local-sagemaker"));
    TimeSpan PollInterval => TimeSpan.FromSeconds(PollSeconds ?? (Local ? 1 : 30));

    /// <summary>The context for a target: AWS, or the local SageMaker under <see cref="LocalSageMakerRoot"/> (started here, stopped after).</summary>
    async Task<T> WithOperationsAsync<T>(Func<Operations.Steps.OperationsContext, Task<T>> run)
    {
        if (!Local)
            return await run(AwsOperations);
        // The servers' own lines go to the job and endpoint logs (printed paths), not over the progress display.
        await using var server = await Pipeline.LocalSageMaker.StartAsync(LocalSageMakerRoot, D2Dll, ServingDll, Region ?? "us-east-1", log: null);
        Note($"Local SageMaker on {server.BaseUrl} (state {LocalSageMakerRoot})");
        using var local = Operations.Steps.OperationsContext.ForLocal(server, region: Region ?? "us-east-1");
        return await run(local);
    }

    Target SampleData => _ => _
        .Description("Synthetic balloons (d2 synth-balloons: 24 train, 8 val images, COCO + VIA json) in artifacts/sample-data/balloon, the channels of build/profiles/pr-small.json")
        .DependsOn(Compile)
        .Executes(() => ProcessTasks.RunAsync("dotnet",
            [D2Dll, "synth-balloons", "--out", Root("artifacts", "sample-data", "balloon"), "--train", "24", "--val", "8"], RootDirectory));

    Target Train => _ => _
        .Description("StartTraining from --training-profile (overrides: --config-file --instance-type --spot), follow it (iteration, loss, ETA), write artifacts/train-report (metrics table, curves PNG, 3 prediction overlays; also to $GITHUB_STEP_SUMMARY); --local runs it on the local SageMaker")
        .DependsOn(Compile)
        .Executes(async () =>
        {
            if (TrainingProfile is null)
                throw new BuildUsageException("Train needs --training-profile FILE (a training profile JSON).");
            if (!File.Exists(TrainingProfile))
                throw new BuildUsageException($"--training-profile {TrainingProfile}: the file does not exist.");
            Operations.Steps.TrainingProfile profile;
            try
            {
                // Workflow inputs left empty arrive as empty strings: they keep the profile's value.
                profile = new Operations.Steps.TrainingProfileOverrides
                    {
                        ConfigFile = string.IsNullOrWhiteSpace(ConfigFile) ? null : ConfigFile,
                        InstanceType = string.IsNullOrWhiteSpace(InstanceType) ? null : InstanceType,
                        Spot = Spot,
                    }
                    .Apply(Operations.Steps.TrainingProfile.Load(TrainingProfile), Local);
            }
            catch (Operations.Steps.InvalidProfileException e)
            {
                throw new BuildUsageException(e.Message);
            }
            var reportDirectory = Path.GetFullPath(ReportDirectory ?? Root("artifacts", "train-report"));
            var (result, report) = await WithOperationsAsync(operations =>
                new Pipeline.TrainRun(operations, Local ? LocalSageMakerRoot : null, reportDirectory, D2Dll, RootDirectory, Console.Out) { PollInterval = PollInterval }
                    .RunAsync(profile));
            AddClosingLine($"Train: {result.JobName} {result.Status}; report {report.Markdown}");
        });

    Target Deploy => _ => _
        .Description("Deploy --job NAME or --model-data URL with --deployment-profile, wait InService, smoke-invoke (--smoke-image) and check the JSON; on failure roll the endpoint back to its previous config (or delete it if new) and fail; --local on the local SageMaker")
        .DependsOn(Compile)
        .Executes(async () =>
        {
            if ((Job is null) == (ModelData is null))
                throw new BuildUsageException("Deploy needs exactly one of --job NAME and --model-data URL.");
            Operations.Steps.DeploymentProfile profile;
            try
            {
                if (DeploymentProfile is not null && !File.Exists(DeploymentProfile))
                    throw new BuildUsageException($"--deployment-profile {DeploymentProfile}: the file does not exist.");
                if (DeploymentProfile is null && !Local)
                    throw new BuildUsageException("Deploy to AWS needs --deployment-profile FILE (role, image, instance type).");
                profile = new Operations.Steps.DeploymentProfileOverrides { EndpointName = EndpointName, TrainingJobName = Job, ModelDataUrl = ModelData }
                    .Apply(DeploymentProfile is null ? null : Operations.Steps.DeploymentProfile.Load(DeploymentProfile), Local);
            }
            catch (Operations.Steps.InvalidProfileException e)
            {
                throw new BuildUsageException(e.Message);
            }
            var result = await WithOperationsAsync(operations =>
                new Pipeline.DeployRun(operations, Console.Out) { PollInterval = PollInterval }.RunAsync(profile, SmokeImage));
            AddClosingLine($"Deploy: {result.Deployment.EndpointName} InService on {result.Deployment.EndpointConfigName}; smoke test passed");
        });
}
