using D2.Operations.Images;
using D2.Operations.Matrix;

namespace D2.Operations.Tests.Images;

/// <summary>The image plan against every entry of build/gpu-archs.json (read here independently of the plan code).</summary>
public class ImagePlanTests
{
    private const string Registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    private const string Sha = "0123456789abcdef0123456789abcdef01234567";
    private static readonly GpuArchitectureMatrix Matrix = GpuArchitectureMatrix.LoadDefault();

    private static Dictionary<string, string> Pairs(IEnumerable<KeyValuePair<string, string>> pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Test]
    public void EveryArchitectureGetsATrainerAndAServingImageWithItsFactsAndTags()
    {
        var plan = ImagePlan.Create(Matrix, null, Registry, "1.2.3", Sha, "https://github.com/o/r");

        Assert.That(plan.Builds, Has.Count.EqualTo(2 * Matrix.Architectures.Count));
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(GpuArchitectureMatrix.FindRepositoryFile()!));
        foreach (var entry in json.RootElement.GetProperty("architectures").EnumerateArray())
        {
            var name = entry.GetProperty("name").GetString()!;
            foreach (var (component, repository, dockerfile) in new[] { ("trainer", "d2-trainer", "trainer/Dockerfile"), ("serving", "d2-serving", "serving/Dockerfile") })
            {
                var build = plan.Builds.Single(b => b.Architecture.Name == name && b.Component.Name == component);
                Assert.That(build.Component.Dockerfile, Is.EqualTo(dockerfile));
                Assert.That(build.Tags, Is.EqualTo(new[] { $"{Registry}/{repository}:1.2.3-{name}", $"{Registry}/{repository}:{Sha}-{name}" }));
                var arguments = Pairs(build.BuildArguments);
                Assert.That(arguments["BASE_IMAGE"], Is.EqualTo(entry.GetProperty("baseImage").GetString()));
                Assert.That(arguments["TORCH_BACKEND"], Is.EqualTo(entry.GetProperty("torchBackend").GetString()));
                Assert.That(arguments["LIBTORCH_PACKAGE"], Is.EqualTo(entry.GetProperty("libTorchPackage").GetString()));
                Assert.That(arguments["GPU_ARCH"], Is.EqualTo(name));
                Assert.That(arguments["VERSION"], Is.EqualTo("1.2.3"));
                Assert.That(arguments["GIT_REVISION"], Is.EqualTo(Sha));
                Assert.That(arguments.GetValueOrDefault("NCCL_PACKAGE"), Is.EqualTo(component == "trainer" && entry.TryGetProperty("ncclPackage", out var nccl) ? nccl.GetString() : null),
                    "the trainer's pinned NCCL, from the matrix");
                var labels = Pairs(build.Labels);
                Assert.That(labels["org.opencontainers.image.version"], Is.EqualTo("1.2.3"));
                Assert.That(labels["org.opencontainers.image.revision"], Is.EqualTo(Sha));
                Assert.That(labels["org.opencontainers.image.source"], Is.EqualTo("https://github.com/o/r"));
                Assert.That(labels["com.d2.compute-capabilities"],
                    Is.EqualTo(string.Join(',', entry.GetProperty("computeCapabilities").EnumerateArray().Select(c => c.GetString()))));
            }
        }
    }

    [Test]
    public void TheCommandIsTheExactBuildxLineWithEveryArgumentAndTag()
    {
        var build = ImagePlan.Create(Matrix, ["volta"], Registry, "1.2.3", Sha).Builds[0];

        Assert.That(build.CommandLine(), Is.EqualTo(
            "docker buildx build --file trainer/Dockerfile --platform linux/amd64"
            + " --build-arg BASE_IMAGE=" + Matrix.Get("volta").BaseImage
            + " --build-arg TORCH_BACKEND=cuda --build-arg LIBTORCH_PACKAGE=" + Matrix.Get("volta").LibTorchPackage
            + " --build-arg GPU_ARCH=volta --build-arg VERSION=1.2.3 --build-arg GIT_REVISION=" + Sha
            + " --build-arg NCCL_PACKAGE=" + Matrix.Get("volta").NcclPackage
            + " --label org.opencontainers.image.version=1.2.3 --label org.opencontainers.image.revision=" + Sha
            + " --label org.opencontainers.image.base.name=" + Matrix.Get("volta").BaseImage
            + " --label com.d2.gpu-arch=volta --label com.d2.torch-backend=cuda --label com.d2.compute-capabilities=sm_70"
            + $" --tag {Registry}/d2-trainer:1.2.3-volta --tag {Registry}/d2-trainer:{Sha}-volta --load ."));
        Assert.That(ImageBuild.ShellQuote("a b'c"), Is.EqualTo("'a b'\\''c'"));
    }

    [Test]
    public void ArchitecturesAreSelectedByNameAndUnknownOnesNamed()
    {
        var plan = ImagePlan.Create(Matrix, ["Ampere,blackwell", "ampere"], Registry, "1.2.3", Sha);
        Assert.That(plan.Builds.Select(b => $"{b.Architecture.Name}/{b.Component.Name}"),
            Is.EqualTo(new[] { "ampere/trainer", "ampere/serving", "blackwell/trainer", "blackwell/serving" }));

        var unknown = Assert.Throws<ArgumentException>(() => ImagePlan.Create(Matrix, ["pascal"], Registry, "1.2.3", Sha));
        Assert.That(unknown!.Message, Does.Contain("'pascal'").And.Contain("volta").And.Contain("blackwell"));
        var badSha = Assert.Throws<ArgumentException>(() => ImagePlan.Create(Matrix, null, Registry, "1.2.3", "main"));
        Assert.That(badSha!.Message, Does.Contain("'main'"));
        Assert.Throws<ArgumentException>(() => ImagePlan.Create(Matrix, null, Registry, "1.2.3+meta", Sha));
    }
}
