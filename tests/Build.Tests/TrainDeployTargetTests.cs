using System.Diagnostics;
using SkiaSharp;

namespace D2.Build.Tests;

/// <summary>
/// `./build.sh Train --local` and `./build.sh Deploy --local` as real processes, end to end on the local SageMaker: the
/// built trainer trains the small CPU Mask R-CNN for 4 iterations on 4 synthetic balloons, the report is written (and
/// appended to GITHUB_STEP_SUMMARY), then a second build run finds the job in the persisted local state, deploys its
/// model behind D2.Serving and passes the smoke test. (The rollback paths are pinned in D2.Operations.Tests' VerifiedDeploymentTests.)
/// </summary>
[NonParallelizable]
public class TrainDeployTargetTests
{
    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return dir.FullName;
        throw new InvalidOperationException("MLOps.sln not found above the test directory.");
    }

    static (int Exit, string Output) Run(string root, IReadOnlyDictionary<string, string> environment, string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        foreach (var (key, value) in environment)
            info.Environment[key] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in 5 minutes:\n{stdout.Result}{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Test]
    public void Train_then_Deploy_on_the_local_SageMaker_write_the_report_and_pass_the_smoke_test()
    {
        var root = RepositoryRoot();
        var d2 = Path.Combine(root, "trainer", "D2.Trainer", "bin", "Release", "net10.0", "d2.dll");
        if (!File.Exists(d2) || !File.Exists(Path.Combine(root, "serving", "D2.Serving", "bin", "Release", "net10.0", "D2.Serving.dll")))
            Assert.Ignore("Needs the Release build of the trainer and the server (./build.sh Compile).");
        var work = Path.Combine(Path.GetTempPath(), $"d2-train-deploy-{Guid.NewGuid():N}"[..30]);
        Directory.CreateDirectory(work);
        try
        {
            var data = Path.Combine(work, "data");
            Assert.That(Run(root, new Dictionary<string, string>(), "dotnet", d2, "synth-balloons", "--out", data, "--train", "4", "--val", "3", "--size", "128x96").Exit, Is.Zero);
            var profile = Path.Combine(work, "profile.json");
            File.WriteAllText(profile, $$"""
                {
                  "jobNamePrefix": "tiny",
                  "roleArn": "arn:aws:iam::000000000000:role/SageMakerRole",
                  "image": "d2-trainer:local-cpu",
                  "instanceType": "ml.c5.xlarge",
                  "hyperParameters": {
                    "config-file": "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml",
                    "opts": "SOLVER.MAX_ITER 4 SOLVER.IMS_PER_BATCH 2 SOLVER.WARMUP_ITERS 2 SOLVER.STEPS (3,) TEST.EVAL_PERIOD 0 INPUT.MIN_SIZE_TRAIN (96,) INPUT.MAX_SIZE_TRAIN 128 INPUT.MIN_SIZE_TEST 96 INPUT.MAX_SIZE_TEST 128",
                    "training-annotations": "annotations.json",
                    "validation-annotations": "annotations.json"
                  },
                  "channels": { "training": "{{new Uri(Path.Combine(data, "train") + "/").AbsoluteUri}}", "validation": "{{new Uri(Path.Combine(data, "val") + "/").AbsoluteUri}}" },
                  "outputPath": "{{new Uri(Path.Combine(work, "jobs") + "/").AbsoluteUri}}"
                }
                """);
            var summary = Path.Combine(work, "step-summary.md");
            File.WriteAllText(summary, "# before\n");
            var local = Path.Combine(work, "local-sagemaker");
            var report = Path.Combine(work, "train-report");

            // --config-file overrides the profile's (the workflow's input); the 4 iterations keep it short on CPU.
            var (exit, output) = Run(root, new Dictionary<string, string> { ["GITHUB_STEP_SUMMARY"] = summary }, "bash", "./build.sh", "Train", "--skip",
                "--local", "--training-profile", profile, "--config-file", "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
                "--instance-type", "ml.m5.xlarge", "--local-root", local, "--report-directory", report);
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("iter 4/4").And.Contain("Completed/Completed"));
            var job = Directory.GetDirectories(Path.Combine(local, "training-jobs")).Select(Path.GetFileName).Single()!;
            var markdown = File.ReadAllText(Path.Combine(report, "report.md"));
            Assert.That(markdown, Does.Contain($"## Training report: {job}").And.Contain("`Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml`")
                .And.Contain("| total_loss |").And.Contain("![loss and AP curves](curves.png)"));
            using (var curves = SKBitmap.Decode(Path.Combine(report, "curves.png")))
                Assert.That((curves.Width, curves.Height), Is.EqualTo((800, 450)));
            var overlays = Directory.GetFiles(Path.Combine(report, "overlays"), "*.png");
            Assert.That(overlays, Has.Length.EqualTo(3));
            foreach (var overlay in overlays)
            {
                using var image = SKBitmap.Decode(overlay);
                Assert.That((image.Width, image.Height), Is.EqualTo((128, 96)), overlay);
            }
            Assert.That(File.ReadAllText(summary), Does.StartWith("# before\n").And.Contain($"## Training report: {job}"));

            // A second build process: the local SageMaker's state on disk still has the job.
            (exit, output) = Run(root, new Dictionary<string, string>(), "bash", "./build.sh", "Deploy", "--skip", "--local",
                "--job", job, "--endpoint-name", "tiny-endpoint", "--local-root", local, "--poll-seconds", "1");
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("smoke test passed").And.Contain($"/{job}/output/model.tar.gz"));

            // A smoke image that is not an image is refused before anything is deployed.
            var notImage = Path.Combine(work, "not-an-image.txt");
            File.WriteAllText(notImage, "hello");
            (exit, output) = Run(root, new Dictionary<string, string>(), "bash", "./build.sh", "Deploy", "--skip", "--local",
                "--job", job, "--endpoint-name", "tiny-endpoint", "--local-root", local, "--smoke-image", notImage);
            Assert.That(exit, Is.Not.Zero);
            Assert.That(output, Does.Contain("--smoke-image").And.Contain("neither a JPEG"));
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
