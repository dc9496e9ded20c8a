using D2.LocalSageMaker;

namespace D2.Trainer.Tests;

/// <summary>Which `d2` the d2-local-sagemaker tool runs as the training container when --training-command is not given.</summary>
public class TrainerLocatorTests
{
    string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-locator-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void Under_the_dotnet_host_the_d2_dll_beside_the_tool_runs_with_the_same_host()
    {
        File.WriteAllText(Path.Combine(_folder, "d2.dll"), "");
        File.WriteAllText(Path.Combine(_folder, "d2"), "");
        Assert.That(TrainerLocator.Find(_folder, "/usr/share/dotnet/dotnet"), Is.EqualTo(new[] { "/usr/share/dotnet/dotnet", Path.Combine(_folder, "d2.dll") }));
    }

    [Test]
    public void A_published_tool_runs_the_d2_apphost_beside_it_else_the_dll_else_d2_on_PATH()
    {
        var tool = Path.Combine(_folder, "d2-local-sagemaker");
        Assert.That(TrainerLocator.Find(_folder, tool), Is.EqualTo(new[] { "d2" }), "nothing beside: PATH");
        File.WriteAllText(Path.Combine(_folder, "d2.dll"), "");
        Assert.That(TrainerLocator.Find(_folder, tool), Is.EqualTo(new[] { "dotnet", Path.Combine(_folder, "d2.dll") }));
        File.WriteAllText(Path.Combine(_folder, "d2"), "");
        Assert.That(TrainerLocator.Find(_folder, tool), Is.EqualTo(new[] { Path.Combine(_folder, "d2") }));
    }

    [Test]
    public void In_the_test_output_the_tool_finds_the_d2_it_is_built_beside() =>
        Assert.That(TrainerLocator.Find(TestContext.CurrentContext.TestDirectory, "/usr/bin/dotnet"),
            Is.EqualTo(new[] { "/usr/bin/dotnet", Path.Combine(TestContext.CurrentContext.TestDirectory, "d2.dll") }));
}
