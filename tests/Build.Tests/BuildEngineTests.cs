using D2.Build.Engine;

namespace D2.Build.Tests;

public class BuildEngineTests
{
    static readonly Dictionary<string, string> NoEnvironment = [];

    static (BuildModel model, BuildInvocation invocation) Parse(SampleBuild build, string[] args, Dictionary<string, string>? environment = null)
    {
        var model = new BuildModel(build);
        return (model, BuildInvocation.Parse(model, args, environment ?? NoEnvironment, "Compile"));
    }

    static string[] PlanNames(BuildModel model, BuildInvocation invocation) =>
        ExecutionPlan.Create(model, invocation.Targets, invocation.Skip)
            .Select(p => p.Status == TargetStatus.Skipped ? p.Definition.Name + "(skipped)" : p.Definition.Name).ToArray();

    [Test]
    public void Plan_runs_dependencies_first_and_only_what_was_asked_for()
    {
        var (model, invocation) = Parse(new SampleBuild(), ["Pack"]);
        Assert.That(PlanNames(model, invocation), Is.EqualTo(new[] { "Restore", "Compile", "Pack" }));
    }

    [Test]
    public void Before_and_After_order_targets_only_when_both_are_scheduled()
    {
        var (model, invocation) = Parse(new SampleBuild(), ["Lint", "Compile", "Clean"]);
        // Clean before Restore, Lint after Compile; Lint alone would not pull Compile in.
        Assert.That(PlanNames(model, invocation), Is.EqualTo(new[] { "Clean", "Restore", "Compile", "Lint" }));
        var (model2, lintOnly) = Parse(new SampleBuild(), ["Lint"]);
        Assert.That(PlanNames(model2, lintOnly), Is.EqualTo(new[] { "Lint" }));
    }

    [Test]
    public void Skip_without_names_skips_every_target_not_invoked()
    {
        var (model, invocation) = Parse(new SampleBuild(), ["Pack", "--skip"]);
        Assert.That(PlanNames(model, invocation), Is.EqualTo(new[] { "Restore(skipped)", "Compile(skipped)", "Pack" }));
    }

    [Test]
    public void Skip_with_names_skips_just_those()
    {
        var (model, invocation) = Parse(new SampleBuild(), ["Publish", "--skip", "restore", "Pack"]);
        Assert.That(PlanNames(model, invocation), Is.EqualTo(new[] { "Restore(skipped)", "Compile", "Pack(skipped)", "Publish" }));
    }

    [Test]
    public void No_target_means_the_default_target()
    {
        var (_, invocation) = Parse(new SampleBuild(), []);
        Assert.That(invocation.Targets.Select(t => t.Name), Is.EqualTo(new[] { "Compile" }));
    }

    [Test]
    public void Unknown_target_is_an_error_listing_the_valid_targets()
    {
        var error = Assert.Throws<BuildUsageException>(() => Parse(new SampleBuild(), ["Deploy"]));
        Assert.That(error!.Message, Does.Contain("'Deploy'").And.Contain("Clean, Restore, Lint, Compile, Pack, Publish"));
    }

    [Test]
    public void Unknown_parameter_is_an_error_listing_the_valid_parameters()
    {
        var error = Assert.Throws<BuildUsageException>(() => Parse(new SampleBuild(), ["--colour", "red"]));
        Assert.That(error!.Message, Does.Contain("'--colour'").And.Contain("--greeting, --flavor, --repeat, --loud, --api-token"));
    }

    [Test]
    public void Cycle_in_the_graph_is_reported_with_its_targets()
    {
        var model = new BuildModel(new CyclicBuild());
        var invocation = BuildInvocation.Parse(model, ["A"], NoEnvironment, "A");
        var error = Assert.Throws<InvalidOperationException>(() => ExecutionPlan.Create(model, invocation.Targets, invocation.Skip));
        Assert.That(error!.Message, Does.Contain("cycle").And.Contain("A, B"));
    }

    [Test]
    public void Parameters_come_from_the_command_line_before_the_environment()
    {
        var build = new SampleBuild();
        Parse(build, ["Compile", "--greeting", "from-args"], new() { ["GREETING"] = "from-env", ["D2_REPEAT"] = "3", ["Fla_vor"] = "fancy" });
        Assert.That(build.Greeting, Is.EqualTo("from-args"));
        Assert.That(build.Repeat, Is.EqualTo(3));
        Assert.That(build.Flavor, Is.EqualTo(Flavor.Fancy));
    }

    [Test]
    public void A_switch_takes_no_value_so_a_following_word_is_a_target()
    {
        var build = new SampleBuild();
        var (_, invocation) = Parse(build, ["--loud", "Pack"]);
        Assert.That(build.Loud, Is.True);
        Assert.That(invocation.Targets.Select(t => t.Name), Is.EqualTo(new[] { "Pack" }));
    }

    [TestCase("--flavor", "spicy", "Plain, Fancy")]
    [TestCase("--repeat", "many", "not an integer")]
    public void Bad_parameter_values_name_the_parameter_and_the_problem(string option, string value, string expected)
    {
        var error = Assert.Throws<BuildUsageException>(() => Parse(new SampleBuild(), [option, value]));
        Assert.That(error!.Message, Does.Contain(option).And.Contain(expected));
    }

    [Test]
    public async Task Run_executes_in_order_and_prints_a_summary_table()
    {
        var build = new SampleBuild();
        var output = new StringWriter();
        var exit = await BuildRunner.RunAsync(build, ["Publish"], "Compile", output);
        Assert.That(exit, Is.Zero);
        Assert.That(build.Ran, Is.EqualTo(new[] { "Restore", "Compile", "Pack", "Publish" }));
        var summary = output.ToString();
        Assert.That(summary, Does.Match(@"Publish\s+Succeeded\s+\d+:\d\d\.\d"));
        Assert.That(summary, Does.Contain("Total"));
    }

    [Test]
    public async Task A_failing_target_stops_the_run_and_later_targets_are_not_run()
    {
        var build = new SampleBuild { FailPack = true };
        var output = new StringWriter();
        var exit = await BuildRunner.RunAsync(build, ["Publish"], "Compile", output);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(build.Ran, Is.EqualTo(new[] { "Restore", "Compile", "Pack" }));
        Assert.That(output.ToString(), Does.Match(@"Pack\s+Failed").And.Match(@"Publish\s+NotRun").And.Contain("pack broke"));
    }

    [Test]
    public async Task Plan_mode_runs_nothing_and_never_prints_a_secret()
    {
        var build = new SampleBuild();
        var output = new StringWriter();
        var exit = await BuildRunner.RunAsync(build, ["Pack", "--plan", "--api-token", "hunter2"], "Compile", output);
        Assert.That(exit, Is.Zero);
        Assert.That(build.Ran, Is.Empty);
        Assert.That(output.ToString(), Does.Contain("1. Restore").And.Contain("3. Pack").And.Contain("(secret, set)").And.Not.Contain("hunter2"));
    }

    [Test]
    public async Task Help_lists_targets_with_dependencies_and_parameters_with_allowed_values()
    {
        var output = new StringWriter();
        var exit = await BuildRunner.RunAsync(new SampleBuild(), ["--help"], "Compile", output);
        Assert.That(exit, Is.Zero);
        var help = output.ToString();
        Assert.That(help, Does.Contain("*Compile").And.Contain("(depends on: Restore)").And.Contain("--flavor").And.Contain("[Plain|Fancy]"));
    }

    [Test]
    public async Task Usage_errors_exit_with_code_2()
    {
        var output = new StringWriter();
        Assert.That(await BuildRunner.RunAsync(new SampleBuild(), ["Nope"], "Compile", output), Is.EqualTo(2));
        Assert.That(output.ToString(), Does.Contain("Unknown target 'Nope'"));
    }
}
