using System.Text.Json;

namespace D2.Build.Tests;

/// <summary>build/gpu-archs.json is the only place architecture facts live: no Dockerfile, project, props or targets file
/// repeats a base image, libtorch package or compute capability of the matrix.</summary>
public class MatrixFactsTests
{
    static string Repo()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return dir.FullName;
        throw new InvalidOperationException("MLOps.sln not found above the test directory.");
    }

    [Test]
    public void No_dockerfile_or_msbuild_file_repeats_a_matrix_fact()
    {
        var repo = Repo();
        using var matrix = JsonDocument.Parse(File.ReadAllText(Path.Combine(repo, "build", "gpu-archs.json")));
        var facts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in matrix.RootElement.GetProperty("architectures").EnumerateArray())
        {
            facts.Add(entry.GetProperty("baseImage").GetString()!);
            facts.Add(entry.GetProperty("libTorchPackage").GetString()!);
            if (entry.TryGetProperty("ncclPackage", out var nccl))
                facts.Add(nccl.GetString()!);
            foreach (var capability in entry.GetProperty("computeCapabilities").EnumerateArray())
                facts.Add(capability.GetString()!);
        }
        Assert.That(facts, Has.Count.GreaterThanOrEqualTo(5));

        var skipped = new[] { "bin", "obj", "node_modules", "artifacts", ".git" };
        var files = Directory.EnumerateFiles(repo, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(repo, f).Split(Path.DirectorySeparatorChar).Any(skipped.Contains))
            .Where(f => Path.GetFileName(f) == "Dockerfile" || Path.GetExtension(f) is ".csproj" or ".props" or ".targets")
            .ToList();
        Assert.That(files.Select(Path.GetFileName), Does.Contain("Dockerfile").And.Contain("Directory.Packages.props").And.Contain("D2.Detection.csproj"));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            foreach (var fact in facts)
                Assert.That(text, Does.Not.Contain(fact).IgnoreCase, $"{Path.GetRelativePath(repo, file)} repeats the matrix fact '{fact}'; pass it from build/gpu-archs.json");
        }
    }
}
