using D2.Detection.Checkpoint;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Checkpoint;

public class AtomicFileTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-atomic-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void Atomic_write_that_throws_midway_keeps_the_previous_file_and_leaves_no_partial_file()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_folder, "model_final.safetensors");
        SafeTensors.Save(path, [new("w", ones(4))]);
        var before = File.ReadAllBytes(path);

        // A checkpoint write that dies after the header and part of the data (e.g. a full disk).
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            SafeTensors.Write(stream, [new("w", zeros(1024))]);
            stream.Flush();
            throw new IOException("No space left on device");
        }));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_folder).Select(Path.GetFileName), Is.EqualTo(new[] { "model_final.safetensors" }));
    }

    [Test]
    public void Atomic_write_that_throws_before_the_first_file_exists_leaves_nothing()
    {
        var path = Path.Combine(_folder, "sub", "last_checkpoint");

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("model_0000"u8);
            throw new InvalidOperationException("writer failed");
        }));

        Assert.That(Directory.GetFileSystemEntries(Path.Combine(_folder, "sub")), Is.Empty);
    }

    [Test]
    public void Atomic_write_replaces_an_existing_file_whole()
    {
        var path = Path.Combine(_folder, "last_checkpoint");
        AtomicFile.WriteAllText(path, "model_0004999.safetensors");

        AtomicFile.WriteAllText(path, "model_final.safetensors");

        Assert.That(File.ReadAllText(path), Is.EqualTo("model_final.safetensors"));
        Assert.That(Directory.GetFiles(_folder), Has.Length.EqualTo(1));
    }
}
