using D2.Operations.Steps;

namespace D2.Operations.Tests.Steps;

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

    [Test]
    public void The_pull_request_profile_loads_with_its_channels_beside_the_repository()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Profiles", "pr-small.json");
        var profile = new TrainingProfileOverrides().Apply(TrainingProfile.Load(path), local: true);
        var artifacts = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", "..", "artifacts", "sample-data"));
        Assert.That(profile.Channels["training"], Is.EqualTo(new Uri(Path.Combine(artifacts, "balloon", "train")).AbsoluteUri + "/"));
        Assert.That(profile.Channels["validation"], Is.EqualTo(new Uri(Path.Combine(artifacts, "balloon", "val")).AbsoluteUri + "/"));
        Assert.That(profile.HyperParameters["config-file"], Is.EqualTo("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml"));
    }
}
