using System.Text.Json;
using D2.Build.Engine;

namespace D2.Build.Tests;

/// <summary>The Images target of the real build: --image-plan prints each architecture's exact commands; without a Docker
/// engine it fails saying so (this machine has the docker client at most, never an engine).</summary>
[NonParallelizable]
public class ImagesTargetTests
{
    static async Task<(int exit, string output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        try
        {
            var exit = await BuildRunner.RunAsync(new Build(), args, "Compile", output);
            return (exit, output.ToString());
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    [Test]
    public async Task Image_plan_prints_the_commands_of_every_matrix_entry_and_runs_no_docker()
    {
        var (exit, output) = await Run("Images", "--image-plan", "--registry", "registry.example:5000", "--image-version", "2.0.0", "--docker", "/nonexistent/docker");

        Assert.That(exit, Is.Zero, output);
        var commands = output.Split('\n').Where(l => l.StartsWith("docker buildx build ", StringComparison.Ordinal)).ToList();
        var root = new Build().RootDirectory;
        using var matrix = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "build", "gpu-archs.json")));
        var entries = matrix.RootElement.GetProperty("architectures").EnumerateArray().ToList();
        Assert.That(commands, Has.Count.EqualTo(2 * entries.Count));
        foreach (var entry in entries)
        {
            var name = entry.GetProperty("name").GetString()!;
            foreach (var repository in new[] { "d2-trainer", "d2-serving" })
            {
                var command = commands.Single(c => c.Contains($"--tag registry.example:5000/{repository}:2.0.0-{name} ", StringComparison.Ordinal));
                Assert.That(command, Does.Contain($"--build-arg BASE_IMAGE={entry.GetProperty("baseImage").GetString()} ")
                    .And.Contain($"--build-arg TORCH_BACKEND={entry.GetProperty("torchBackend").GetString()} ")
                    .And.Contain($"--build-arg LIBTORCH_PACKAGE={entry.GetProperty("libTorchPackage").GetString()} ")
                    .And.Contain($"--build-arg GPU_ARCH={name} ")
                    .And.Match($@"--tag registry\.example:5000/{repository}:[0-9a-f]{{40}}-{name} "));
            }
        }
    }

    [Test]
    public async Task One_architecture_is_selected_with_arch()
    {
        var (exit, output) = await Run("Images", "--image-plan", "--arch", "blackwell");
        Assert.That(exit, Is.Zero, output);
        var commands = output.Split('\n').Where(l => l.StartsWith("docker buildx build ", StringComparison.Ordinal)).ToList();
        Assert.That(commands, Has.Count.EqualTo(2));
        Assert.That(commands, Has.All.Contain("--tag localhost:5000/").And.All.Contain("-blackwell ").And.All.Contain("sm_100"));

        var (unknown, text) = await Run("Images", "--image-plan", "--arch", "pascal");
        Assert.That(unknown, Is.Not.Zero);
        Assert.That(text, Does.Contain("'pascal'").And.Contain("volta"));
    }

    [Test]
    public async Task Without_a_docker_engine_images_fails_and_points_at_the_plan()
    {
        var (exit, output) = await Run("Images", "--docker", "/nonexistent/docker");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(output, Does.Contain("Docker engine").And.Contain("--image-plan"));

        var (push, pushOutput) = await Run("Push", "--image-plan");
        Assert.That(push, Is.Not.Zero);
        Assert.That(pushOutput, Does.Contain("Push does not take --image-plan"));
    }
}
