using D2.Operations.Operations;

namespace D2.Operations.Tests.Operations;

public class RelativeFileUriTests
{
    [Test]
    public void Relative_file_locations_in_a_profile_resolve_against_the_profile_folder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "d2-profile-" + Guid.NewGuid().ToString("N"), "build", "profiles");
        Directory.CreateDirectory(folder);
        try
        {
            var path = Path.Combine(folder, "small.json");
            File.WriteAllText(path, """
                {
                  "jobNamePrefix": "small", "roleArn": "arn:aws:iam::000000000000:role/R", "image": "d2-trainer:local-cpu",
                  "instanceType": "ml.m5.xlarge",
                  "channels": { "training": "file:../../data/train/", "validation": "s3://bucket/val/" },
                  "outputPath": "file:../../out/", "checkpointUri": "file:///abs/checkpoints/"
                }
                """);
            var profile = TrainingProfile.Load(path);
            var root = Path.GetFullPath(Path.Combine(folder, "..", ".."));
            Assert.That(profile.Channels["training"], Is.EqualTo(new Uri(Path.Combine(root, "data", "train")).AbsoluteUri + "/"));
            Assert.That(profile.Channels["validation"], Is.EqualTo("s3://bucket/val/"));
            Assert.That(profile.OutputPath, Is.EqualTo(new Uri(Path.Combine(root, "out")).AbsoluteUri + "/"));
            Assert.That(profile.CheckpointUri, Is.EqualTo("file:///abs/checkpoints/"));
        }
        finally
        {
            Directory.Delete(Path.GetFullPath(Path.Combine(folder, "..", "..")), recursive: true);
        }
    }

    [Test]
    public void Parsed_json_without_a_folder_keeps_locations_as_written() =>
        Assert.That(RelativeFileUri.Resolve("file:data/", null), Is.EqualTo("file:data/"));
}
