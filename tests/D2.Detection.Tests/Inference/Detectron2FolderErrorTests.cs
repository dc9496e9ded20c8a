using D2.Detection.Config;
using D2.Detection.Inference;
using D2.Detection.Modeling;

namespace D2.Detection.Tests.Inference;

/// <summary>Detectron2 folders that cannot be served fail with the file and the problem named.</summary>
public class Detectron2FolderErrorTests
{
    string _root = null!;
    string _yaml = null!;
    GeneralizedRCNN _model = null!;

    [OneTimeSetUp]
    public void BuildModel()
    {
        _root = InferenceFixtures.TemporaryDirectory();
        _yaml = Detectron2Fixtures.ConfigYaml(mask: false);
        _model = Detectron2Fixtures.Model(Detectron2Fixtures.LoadConfig(_yaml));
    }

    [OneTimeTearDown]
    public void Delete()
    {
        _model.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    string Folder(string name, string? configYaml = null) => Detectron2Fixtures.Folder(_root, name, configYaml ?? _yaml);

    [Test]
    public void A_folder_without_weights_names_the_files_looked_for()
    {
        var folder = Folder("empty");
        File.WriteAllText(Path.Combine(folder, "model_final.bin"), "not a checkpoint");
        Assert.That(() => Predictor.FromModelDirectory(folder, warmUp: false), Throws.TypeOf<ModelArtifactException>()
            .With.Message.Contains(folder).And.Message.Contains("model_final.pth").And.Message.Contains("model_final.pkl"));
    }

    [Test]
    public void An_unknown_checkpoint_extension_is_named()
    {
        var file = Path.Combine(Folder("unknown"), "model_final.bin");
        File.WriteAllText(file, "not a checkpoint");
        Assert.That(() => ModelConverter.Convert(file, Path.Combine(_root, "unknown-out")), Throws.TypeOf<ModelArtifactException>()
            .With.Message.Contains(file).And.Message.Contains("unknown checkpoint extension '.bin'"));
    }

    [TestCase("model_final.pth")]
    [TestCase("model_final.pkl")]
    [TestCase("model_final.safetensors")]
    public void A_truncated_checkpoint_is_reported_with_its_path(string name)
    {
        var folder = Folder("truncated-" + Path.GetExtension(name).TrimStart('.'));
        var path = Path.Combine(folder, name);
        if (name.EndsWith(".pth", StringComparison.Ordinal))
            Detectron2Fixtures.WritePth(path, _model);
        else if (name.EndsWith(".pkl", StringComparison.Ordinal))
            Detectron2Fixtures.WritePkl(path, _model);
        else
            Detectron2Fixtures.WriteSafeTensors(path, _model);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.That(() => Predictor.FromModelDirectory(folder, warmUp: false), Throws.TypeOf<ModelArtifactException>()
            .With.Property(nameof(ModelArtifactException.Path)).EqualTo(path));
    }

    [Test]
    public void Weights_of_another_class_count_name_the_key_and_both_shapes()
    {
        var folder = Folder("shapes", Detectron2Fixtures.ConfigYaml(mask: false, numClasses: 3));
        Detectron2Fixtures.WritePth(Path.Combine(folder, "model_final.pth"), _model);
        var error = Assert.Throws<ModelArtifactException>(() => Predictor.FromModelDirectory(folder, warmUp: false))!;
        Assert.That(error.Message, Does.Contain("model_final.pth").And.Contain("roi_heads.box_predictor.cls_score.weight")
            .And.Contain("(3, 32) in the checkpoint but (4, 32) in the model"));
    }

    [Test]
    public void A_missing_weight_is_named()
    {
        var folder = Folder("missing");
        Detectron2Fixtures.WritePkl(Path.Combine(folder, "model_final.pkl"), _model, keep: key => key != "roi_heads.box_predictor.bbox_pred.bias");
        Assert.That(() => ModelConverter.Convert(folder, Path.Combine(_root, "missing-out")), Throws.TypeOf<ModelArtifactException>()
            .With.Message.Contains("roi_heads.box_predictor.bbox_pred.bias").And.Message.Contains("model_final.pkl"));
        Assert.That(Directory.Exists(Path.Combine(_root, "missing-out")), Is.False, "nothing is written");
    }

    [Test]
    public void An_enabled_feature_that_changes_predictions_fails_naming_the_key()
    {
        var folder = Folder("keypoints", Detectron2Fixtures.ConfigYaml(mask: false, extra: ("MODEL.KEYPOINT_ON", "true")));
        Detectron2Fixtures.WritePth(Path.Combine(folder, "model_final.pth"), _model);
        Assert.That(() => Predictor.FromModelDirectory(folder, warmUp: false), Throws.TypeOf<ModelArtifactException>()
            .With.Message.Contains("config.yaml").And.Message.Contains("MODEL.KEYPOINT_ON").And.Message.Contains("not supported"));
    }

    [Test]
    public void Several_checkpoints_pick_model_final_then_last_checkpoint()
    {
        var folder = Folder("several");
        Detectron2Fixtures.WritePth(Path.Combine(folder, "model_0004999.pth"), _model);
        Detectron2Fixtures.WritePth(Path.Combine(folder, "model_0009999.pth"), _model);
        Assert.That(() => ModelArtifact.Read(folder), Throws.TypeOf<ModelArtifactException>().With.Message.Contains("model_0004999.pth, model_0009999.pth"));
        File.WriteAllText(Path.Combine(folder, "last_checkpoint"), "model_0009999.pth");
        Assert.That(ModelArtifact.Read(folder).WeightsPath, Is.EqualTo(Path.Combine(folder, "model_0009999.pth")));
        Detectron2Fixtures.WritePth(Path.Combine(folder, "model_final.pth"), _model);
        Assert.That(ModelArtifact.Read(folder).WeightsPath, Is.EqualTo(Path.Combine(folder, "model_final.pth")));
    }
}
