namespace D2.Trainer.Tests;

/// <summary>The `d2` executable run as a real process, the way the trainer image and users start it.</summary>
public class D2CommandTests
{
    [Test]
    public void Help_lists_the_commands()
    {
        var (exit, stdout, _) = D2Process.Run("--help");
        Assert.That(exit, Is.Zero);
        Assert.That(stdout, Does.Contain("Usage:").And.Contain("info"));
    }

    [Test]
    public void Info_loads_the_native_torch_stack_and_computes_on_cpu()
    {
        var (exit, stdout, stderr) = D2Process.Run("info");
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("libtorch").And.Contain("2.10"));
        Assert.That(stdout, Does.Contain("check on cpu").And.Contain("3 12 21 (expected 3 12 21)"));
    }

    [Test]
    public void Info_with_a_malformed_device_fails_and_names_it()
    {
        var (exit, stdout, stderr) = D2Process.Run("info", "--device", "tpu");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(stdout + stderr, Does.Contain("'tpu'"));
    }
}
