using System.Text.RegularExpressions;
using D2.Build.Engine;
using D2.Build.Workflows;
using YamlDotNet.RepresentationModel;

namespace D2.Build.Tests;

/// <summary>
/// .github/workflows: valid for the real validator from npm (installed by the build when missing), every `run:` one line
/// calling existing build targets with existing parameters, inputs passed through env (never interpolated into a
/// script), pinned actions, least-privilege permissions, concurrency, and the images matrix from build/gpu-archs.json.
/// </summary>
public class WorkflowTests
{
    static string Repo()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return dir.FullName;
        throw new InvalidOperationException("MLOps.sln not found above the test directory.");
    }

    static readonly string[] Expected = ["pr.yml", "images.yml", "train.yml", "deploy.yml"];

    static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Repo(), ".github", "workflows", file)));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    static YamlNode? Get(YamlNode node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    static IEnumerable<(string job, YamlMappingNode body)> Jobs(YamlMappingNode workflow) =>
        ((YamlMappingNode)Get(workflow, "jobs")!).Children.Select(c => (((YamlScalarNode)c.Key).Value!, (YamlMappingNode)c.Value));

    static IEnumerable<YamlMappingNode> Steps(YamlMappingNode job) => ((YamlSequenceNode)Get(job, "steps")!).Children.Cast<YamlMappingNode>();

    [Test]
    public async Task Every_workflow_passes_the_real_validator_and_a_broken_one_fails()
    {
        var validator = await WorkflowLint.EnsureValidatorAsync(Repo());
        var files = WorkflowLint.WorkflowFiles(Repo());
        Assert.That(files.Select(Path.GetFileName), Is.SupersetOf(Expected));
        foreach (var file in files)
        {
            var (exit, report) = WorkflowLint.Validate(validator, file);
            Assert.That(exit, Is.Zero, $"{file}: {report}");
        }

        var broken = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.yml");
        File.WriteAllText(broken, "name: broken\non: push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    stepz:\n      - run: ./build.sh Test\n");
        try
        {
            var (exit, report) = WorkflowLint.Validate(validator, broken);
            Assert.That(exit, Is.Not.Zero);
            Assert.That(report, Does.Contain("stepz"));
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [TestCaseSource(nameof(Expected))]
    public void Every_run_step_is_one_line_calling_existing_build_targets(string file)
    {
        var model = new BuildModel(new Build());
        var runs = Jobs(Load(file)).SelectMany(j => Steps(j.body)).Select(s => Get(s, "run")).OfType<YamlScalarNode>().Select(r => r.Value!.Trim()).ToList();
        Assert.That(runs, Is.Not.Empty);
        foreach (var run in runs)
        {
            Assert.That(run, Does.Not.Contain("\n"), $"{file}: one line: {run}");
            Assert.That(run, Does.Not.Contain("${{"), $"{file}: expressions go through env, never into the script: {run}");
            if (run.StartsWith("gh pr comment ", StringComparison.Ordinal))
            {
                Assert.That(run, Does.Match("^gh pr comment \"\\$PR_NUMBER\" --body-file artifacts/train-report/report.md$"));
                continue;
            }
            Assert.That(run, Does.StartWith("./build.sh "), $"{file}: {run}");
            var words = run["./build.sh ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var targets = words.TakeWhile(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
            Assert.That(targets, Is.Not.Empty, run);
            foreach (var target in targets)
                Assert.That(model.Find(target), Is.Not.Null, $"{file}: '{run}' calls target {target}, which build/Build.cs does not declare");
            foreach (var option in words.Where(w => w.StartsWith("--", StringComparison.Ordinal)))
                Assert.That(model.FindParameter(option[2..]), Is.Not.Null, $"{file}: '{run}' passes {option}, which is no build parameter");
        }
    }

    [TestCaseSource(nameof(Expected))]
    public void Actions_are_pinned_permissions_are_least_and_runs_are_grouped(string file)
    {
        var workflow = Load(file);
        Assert.That(Get(workflow, "concurrency"), Is.Not.Null, "concurrency group");
        var top = Get(workflow, "permissions") as YamlMappingNode;
        Assert.That(top?.Children.ToDictionary(c => c.Key.ToString(), c => c.Value.ToString()), Is.EqualTo(new Dictionary<string, string> { ["contents"] = "read" }));
        foreach (var (job, body) in Jobs(workflow))
        {
            var permissions = (Get(body, "permissions") as YamlMappingNode)?.Children.ToDictionary(c => c.Key.ToString(), c => c.Value.ToString()) ?? [];
            var usesOidc = Steps(body).Any(s => Get(s, "uses")?.ToString().StartsWith("aws-actions/configure-aws-credentials@", StringComparison.Ordinal) == true);
            Assert.That(permissions.ContainsKey("id-token"), Is.EqualTo(usesOidc), $"{file}/{job}: id-token only where OIDC is used");
            Assert.That(permissions.Where(p => p.Value == "write").Select(p => p.Key), Is.SubsetOf(new[] { "id-token", "pull-requests" }), $"{file}/{job}");
            foreach (var uses in Steps(body).Select(s => Get(s, "uses")?.ToString()).OfType<string>())
                Assert.That(uses, Does.Match(@"@(v\d+\.\d+\.\d+|[0-9a-f]{40})$"), $"{file}/{job}: pinned to an exact version or commit: {uses}");
            if (usesOidc)
                Assert.That(Steps(body).Single(s => Get(s, "uses") is not null && Get(s, "uses")!.ToString().StartsWith("aws-actions/", StringComparison.Ordinal))
                    .Children[new YamlScalarNode("with")].ToString(), Does.Contain("role-to-assume"));
        }
    }

    [Test]
    public void The_images_matrix_comes_from_gpu_archs_json_through_the_setup_job()
    {
        var workflow = Load("images.yml");
        var jobs = Jobs(workflow).ToDictionary(j => j.job, j => j.body);
        var matrixStep = Steps(jobs["setup"]).Single(s => Get(s, "id")?.ToString() == "matrix");
        Assert.That(Get(matrixStep, "run")!.ToString(), Is.EqualTo("./build.sh ImageMatrix"));
        Assert.That(Get(Get(jobs["setup"], "outputs")!, "matrix")!.ToString(), Is.EqualTo("${{ steps.matrix.outputs.matrix }}"));
        Assert.That(Get(Get(jobs["images"], "strategy")!, "matrix")!.ToString(), Is.EqualTo("${{ fromJSON(needs.setup.outputs.matrix) }}"));
        Assert.That(Get(Get(jobs["images"], "env")!, "D2_ARCH")!.ToString(), Is.EqualTo("${{ matrix.name }}"));
        Assert.That(Steps(jobs["images"]).Select(s => Get(s, "run")?.ToString()), Does.Contain("./build.sh Images Push --arch \"$D2_ARCH\""));
        var names = new Regex("\"name\": \"([a-z0-9._-]+)\"").Matches(File.ReadAllText(Path.Combine(Repo(), "build", "gpu-archs.json"))).Select(m => m.Groups[1].Value);
        var text = File.ReadAllText(Path.Combine(Repo(), ".github", "workflows", "images.yml"));
        foreach (var name in names)
            Assert.That(Regex.IsMatch(text, $@"\b{Regex.Escape(name)}\b"), Is.False, $"architecture '{name}' is listed in images.yml instead of coming from gpu-archs.json");
    }

    [Test]
    public void Deploy_runs_in_the_environment_chosen_as_an_input()
    {
        var workflow = Load("deploy.yml");
        var inputs = Get(Get(Get(workflow, "on")!, "workflow_dispatch")!, "inputs")!;
        Assert.That(Get(Get(inputs, "environment")!, "type")!.ToString(), Is.EqualTo("environment"));
        Assert.That(Get(Jobs(workflow).Single().body, "environment")!.ToString(), Is.EqualTo("${{ inputs.environment }}"));
        Assert.That(Get(Get(workflow, "concurrency")!, "cancel-in-progress")!.ToString(), Is.EqualTo("false"));
    }
}
