namespace D2.SageMaker.Contract.Tests;

/// <summary>/opt/ml/output/failure as SageMaker reads it into FailureReason.</summary>
public class FailureFileTests
{
    string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-failure-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void The_reason_starts_with_its_error_class_and_the_first_failure_is_kept()
    {
        var path = Path.Combine(_folder, "output", "failure");
        FailureFile.Write(path, FailureFile.ClientError("hyperparameter 'seed' must be an integer, not 'x'."));
        FailureFile.Write(path, FailureFile.AlgorithmError("a later failure"));
        Assert.That(File.ReadAllText(path), Is.EqualTo("ClientError: hyperparameter 'seed' must be an integer, not 'x'."));
        Assert.That(FailureFile.Read(path), Is.EqualTo("ClientError: hyperparameter 'seed' must be an integer, not 'x'."));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }), "no temporary file left behind");
    }

    [Test]
    public void A_long_reason_is_cut_to_what_SageMaker_shows()
    {
        var path = Path.Combine(_folder, "failure");
        FailureFile.Write(path, FailureFile.AlgorithmError(new string('x', 5000)));
        var text = File.ReadAllText(path);
        Assert.That(text, Has.Length.EqualTo(1024));
        Assert.That(text, Does.StartWith("AlgorithmError: xxx").And.EndWith("..."));
    }

    [Test]
    public void Reading_trims_caps_and_treats_missing_or_blank_as_no_reason()
    {
        var path = Path.Combine(_folder, "failure");
        Assert.That(FailureFile.Read(path), Is.Null);
        File.WriteAllText(path, "  \n");
        Assert.That(FailureFile.Read(path), Is.Null);
        File.WriteAllText(path, "\nAlgorithmError: " + new string('y', 2000) + "\n");
        Assert.That(FailureFile.Read(path), Has.Length.EqualTo(1024).And.StartWith("AlgorithmError: y"));
    }

    [Test]
    public void Reasons_split_into_error_class_and_message()
    {
        Assert.That(FailureFile.TrySplit("ClientError: bad opts: x", out var errorClass, out var message), Is.True);
        Assert.That((errorClass, message), Is.EqualTo(("ClientError", "bad opts: x")));
        Assert.That(FailureFile.TrySplit("AlgorithmError: rank 1 of 2 on algo-2 was killed", out errorClass, out message), Is.True);
        Assert.That((errorClass, message), Is.EqualTo(("AlgorithmError", "rank 1 of 2 on algo-2 was killed")));
        Assert.That(FailureFile.TrySplit("OtherError: x", out _, out message), Is.False);
        Assert.That(message, Is.EqualTo("OtherError: x"));
    }

    [Test]
    public void A_file_that_cannot_be_written_is_reported_not_thrown()
    {
        // A regular file where the folder should be: the write fails with an IOException.
        var blocker = Path.Combine(_folder, "output");
        File.WriteAllText(blocker, "");
        var errors = new StringWriter();
        Assert.DoesNotThrow(() => FailureFile.Write(Path.Combine(blocker, "failure"), "AlgorithmError: x", errors));
        Assert.That(errors.ToString(), Does.Contain("could not write the failure file"));
    }
}
