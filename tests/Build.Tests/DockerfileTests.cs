using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace D2.Build.Tests;

/// <summary>
/// trainer/Dockerfile and serving/Dockerfile, checked without a Docker engine: every project the executable builds from
/// is copied into the build stage (before restore and before publish), the runtime stage's base is a build argument,
/// the entry point is the published apphost in exec form with SageMaker's argument (`train`, `serve`), labels carry
/// version and revision, no secret is baked in, and outputs stay out of the build context.
/// </summary>
[TestFixture("trainer/Dockerfile", "trainer/D2.Trainer/D2.Trainer.csproj", "d2", "train")]
[TestFixture("serving/Dockerfile", "serving/D2.Serving/D2.Serving.csproj", "D2.Serving", "serve")]
public class DockerfileTests(string dockerfile, string project, string apphost, string argument)
{
    static string Repo()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return dir.FullName;
        throw new InvalidOperationException("MLOps.sln not found above the test directory.");
    }

    string[] Lines()
    {
        // Joins continuation lines so every instruction is one line.
        var text = File.ReadAllText(Path.Combine(Repo(), dockerfile)).Replace("\\\n", " ", StringComparison.Ordinal);
        return [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
    }

    /// <summary>The executable's project and every project it references, transitively, relative to the repository.</summary>
    List<string> Projects()
    {
        var repo = Repo();
        var pending = new Queue<string>([Path.Combine(repo, project)]);
        var found = new List<string>();
        while (pending.TryDequeue(out var current))
        {
            var relative = Path.GetRelativePath(repo, current).Replace('\\', '/');
            if (found.Contains(relative))
                continue;
            found.Add(relative);
            foreach (var reference in XDocument.Load(current).Descendants("ProjectReference"))
                pending.Enqueue(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(current)!, reference.Attribute("Include")!.Value.Replace('\\', '/'))));
        }
        return found;
    }

    [Test]
    public void Every_project_of_the_trainer_is_copied_before_restore_and_before_publish()
    {
        var lines = Lines();
        var restore = Array.FindIndex(lines, l => l.StartsWith("RUN dotnet restore", StringComparison.Ordinal));
        var publish = Array.FindIndex(lines, l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal));
        Assert.That(restore, Is.GreaterThan(0));
        Assert.That(publish, Is.GreaterThan(restore));
        var copies = lines.Select((line, index) => (line, index)).Where(x => x.line.StartsWith("COPY ", StringComparison.Ordinal) && !x.line.Contains("--from", StringComparison.Ordinal)).ToList();
        foreach (var referenced in Projects())
        {
            var folder = Path.GetDirectoryName(referenced)!.Replace('\\', '/') + "/";
            Assert.That(copies.Any(c => c.index < restore && c.line.Contains(referenced, StringComparison.Ordinal)), Is.True, $"{referenced} copied before restore");
            Assert.That(copies.Any(c => c.index > restore && c.index < publish && c.line.Contains($"COPY {folder} {folder}", StringComparison.Ordinal)), Is.True, $"{folder} copied before publish");
        }
        foreach (var (line, _) in copies)
        {
            var source = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1];
            foreach (var path in source)
                Assert.That(File.Exists(Path.Combine(Repo(), path)) || Directory.Exists(Path.Combine(Repo(), path)), Is.True, $"COPY source {path} exists");
        }
    }

    [Test]
    public void The_runtime_stage_runs_the_published_apphost_with_sagemakers_argument()
    {
        var lines = Lines();
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.That(froms, Has.Count.EqualTo(2));
        Assert.That(froms[0], Does.Match(@"^FROM \$\{SDK_IMAGE\} AS build$"));
        Assert.That(froms[1], Does.Match(@"^FROM \$\{BASE_IMAGE\} AS runtime$"));
        // The matrix facts are build arguments without defaults (the Images target passes them from build/gpu-archs.json).
        foreach (var argument in new[] { "BASE_IMAGE", "TORCH_BACKEND", "LIBTORCH_PACKAGE", "GPU_ARCH" })
        {
            Assert.That(lines, Has.Some.Match($"^ARG {argument}$"), argument);
            Assert.That(lines, Has.None.Match($"^ARG {argument}="), $"{argument} has no default");
        }
        Assert.That(lines, Has.Some.Match(@"^RUN test -n ""\$\{TORCH_BACKEND\}"" && test -n ""\$\{LIBTORCH_PACKAGE\}"""), "missing facts stop the build");

        var entrypoint = lines.Single(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))["ENTRYPOINT ".Length..];
        var cmd = lines.Single(l => l.StartsWith("CMD ", StringComparison.Ordinal))["CMD ".Length..];
        // Exec form (a JSON array): the process is PID 1 and receives SageMaker's SIGTERM.
        Assert.That(JsonSerializer.Deserialize<string[]>(entrypoint), Is.EqualTo(new[] { $"/opt/d2/{apphost}" }));
        Assert.That(JsonSerializer.Deserialize<string[]>(cmd), Is.EqualTo(new[] { argument }));
        var assemblyName = XDocument.Load(Path.Combine(Repo(), project)).Descendants("AssemblyName").SingleOrDefault()?.Value
            ?? Path.GetFileNameWithoutExtension(project);
        Assert.That(assemblyName, Is.EqualTo(apphost), "the apphost the entry point names");
        Assert.That(lines, Has.Some.Contains("COPY --from=build /out /opt/d2"));
        Assert.That(lines.Single(l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal)), Does.Contain("--self-contained").And.Contain("-o /out")
            .And.Contain("-p:TorchBackend=${TORCH_BACKEND} -p:LibTorchPackage=${LIBTORCH_PACKAGE}"));
    }

    [Test]
    public void Labels_carry_version_and_revision_and_nothing_secret_is_baked_in()
    {
        var lines = Lines();
        var label = string.Join(' ', lines.Where(l => l.StartsWith("LABEL ", StringComparison.Ordinal)));
        Assert.That(label, Does.Contain("org.opencontainers.image.version=\"${VERSION}\"").And.Contain("org.opencontainers.image.revision=\"${GIT_REVISION}\""));
        var secret = new Regex("(SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL)", RegexOptions.IgnoreCase);
        Assert.That(lines.Where(l => (l.StartsWith("ENV ", StringComparison.Ordinal) || l.StartsWith("ARG ", StringComparison.Ordinal)) && secret.IsMatch(l)), Is.Empty);
        Assert.That(lines, Has.None.Contains("/opt/ml"), "SageMaker mounts /opt/ml; the image must not put anything there");

        var ignore = File.ReadAllLines(Path.Combine(Repo(), ".dockerignore"));
        Assert.That(ignore, Is.SupersetOf(new[] { "**/bin/", "**/obj/", "artifacts/", ".git/" }));
    }
}
