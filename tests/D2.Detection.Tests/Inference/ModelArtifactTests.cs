using D2.Detection.Config;
using D2.Detection.Inference;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Inference;

/// <summary>The model artifact (/opt/ml/model): written atomically, read back whole, and predicting exactly as before.</summary>
public class ModelArtifactTests
{
    string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = InferenceFixtures.TemporaryDirectory();

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    static readonly Dictionary<string, IReadOnlyDictionary<string, double>> Metrics = new()
    {
        ["bbox"] = new Dictionary<string, double> { ["AP"] = 61.25, ["AP50"] = 80.5, ["APs"] = double.NaN },
        ["segm"] = new Dictionary<string, double> { ["AP"] = 70.0 },
    };

    ModelArtifact WriteTiny(CfgNode? cfg = null)
    {
        cfg ??= InferenceFixtures.TinyConfig();
        using var model = InferenceFixtures.TinyModel(cfg);
        return ModelArtifact.Write(_directory, model, cfg, InferenceFixtures.ClassNames, "balloon-job-1", "0123abc", Metrics);
    }

    [Test]
    public void Write_creates_weights_config_and_metadata_and_no_temporary_files()
    {
        WriteTiny();
        Assert.That(Directory.GetFiles(_directory).Select(Path.GetFileName).Order(),
            Is.EqualTo(new[] { "config.yaml", "metadata.json", "model_final.safetensors" }));
    }

    [Test]
    public void Read_returns_the_config_and_metadata_that_were_written()
    {
        var cfg = InferenceFixtures.TinyConfig();
        WriteTiny(cfg);
        var artifact = ModelArtifact.Read(_directory);
        Assert.That(artifact.Config.Differences(cfg), Is.Empty);
        Assert.That(artifact.WeightsPath, Is.EqualTo(Path.Combine(_directory, "model_final.safetensors")));
        var metadata = artifact.Metadata;
        Assert.That(metadata.ClassNames, Is.EqualTo(InferenceFixtures.ClassNames));
        Assert.That(metadata.InputFormat, Is.EqualTo("BGR"));
        Assert.That(metadata.TrainingJobName, Is.EqualTo("balloon-job-1"));
        Assert.That(metadata.GitRevision, Is.EqualTo("0123abc"));
        Assert.That(metadata.FinalMetrics!.Keys, Is.EqualTo(new[] { "bbox", "segm" }));
        Assert.That(metadata.FinalMetrics["bbox"]["AP"], Is.EqualTo(61.25));
        Assert.That(metadata.FinalMetrics["bbox"]["APs"], Is.NaN, "NaN is stored as null and read back as NaN");
    }

    [Test]
    public void Predictions_are_identical_after_reloading_the_artifact()
    {
        var cfg = InferenceFixtures.TinyConfig();
        var png = InferenceFixtures.SyntheticPng(100, 75);
        using var original = new Predictor(cfg, InferenceFixtures.TinyModel(cfg), new ModelMetadata(InferenceFixtures.ClassNames), warmUp: false, ownsModel: true);
        ModelArtifact.Write(_directory, original.Model, cfg, InferenceFixtures.ClassNames);
        using var reloaded = Predictor.FromModelDirectory(_directory, warmUp: false);
        using var expected = original.Predict(png);
        using var actual = reloaded.Predict(png);
        Assert.That(actual.Length, Is.EqualTo(expected.Length).And.GreaterThan(0));
        Assert.That(InferenceFixtures.Same(actual.Get<Boxes>("pred_boxes").Tensor, expected.Get<Boxes>("pred_boxes").Tensor), Is.True, "pred_boxes");
        Assert.That(InferenceFixtures.Same(actual.Get<Tensor>("scores"), expected.Get<Tensor>("scores")), Is.True, "scores");
        Assert.That(InferenceFixtures.Same(actual.Get<Tensor>("pred_classes"), expected.Get<Tensor>("pred_classes")), Is.True, "pred_classes");
        Assert.That(InferenceFixtures.Same(actual.Get<Tensor>("pred_masks"), expected.Get<Tensor>("pred_masks")), Is.True, "pred_masks");
        Assert.That(reloaded.ClassNames, Is.EqualTo(InferenceFixtures.ClassNames));
    }

    [TestCase("config.yaml")]
    [TestCase("model_final.safetensors")]
    public void A_missing_file_is_reported_with_its_path(string file)
    {
        WriteTiny();
        File.Delete(Path.Combine(_directory, file));
        Assert.That(() => ModelArtifact.Read(_directory),
            Throws.TypeOf<ModelArtifactException>().With.Message.Contains(Path.Combine(_directory, file)));
    }

    [Test]
    public void Without_metadata_json_classes_are_named_by_index_as_in_a_detectron2_folder()
    {
        WriteTiny();
        File.Delete(Path.Combine(_directory, "metadata.json"));
        var artifact = ModelArtifact.Read(_directory);
        Assert.That(artifact.Metadata.ClassNames, Is.EqualTo(new[] { "0", "1" }));
        Assert.That(artifact.Metadata.InputFormat, Is.EqualTo("BGR"));
    }

    [Test]
    public void Detectron2_thing_classes_are_read_as_class_names()
    {
        WriteTiny();
        File.WriteAllText(Path.Combine(_directory, "metadata.json"), """{"thing_classes": ["cat", "dog"]}""");
        Assert.That(ModelArtifact.Read(_directory).Metadata.ClassNames, Is.EqualTo(new[] { "cat", "dog" }));
    }

    [Test]
    public void A_missing_directory_is_reported_with_its_path()
    {
        var missing = Path.Combine(_directory, "nope");
        Assert.That(() => Predictor.FromModelDirectory(missing),
            Throws.TypeOf<ModelArtifactException>().With.Property(nameof(ModelArtifactException.Path)).EqualTo(missing));
    }

    [Test]
    public void Any_single_safetensors_file_serves_as_the_weights()
    {
        WriteTiny();
        File.Move(Path.Combine(_directory, "model_final.safetensors"), Path.Combine(_directory, "model_0000999.safetensors"));
        Assert.That(ModelArtifact.Read(_directory).WeightsPath, Is.EqualTo(Path.Combine(_directory, "model_0000999.safetensors")));
        File.Copy(Path.Combine(_directory, "model_0000999.safetensors"), Path.Combine(_directory, "model_0000499.safetensors"));
        Assert.That(() => ModelArtifact.Read(_directory), Throws.TypeOf<ModelArtifactException>().With.Message.Contains("model_0000499.safetensors"));
    }

    [Test]
    public void Weights_that_do_not_fit_the_config_are_rejected_naming_the_weights()
    {
        WriteTiny();
        // The same artifact with a config whose FPN is wider: every FPN and head tensor has another shape.
        WriteConfig(InferenceFixtures.TinyConfig("MODEL.FPN.OUT_CHANNELS", "48"));
        Assert.That(() => Predictor.FromModelDirectory(_directory, warmUp: false),
            Throws.TypeOf<ModelArtifactException>().With.Message.Contains("model_final.safetensors").And.Message.Contains("fpn"));
    }

    [Test]
    public void Metadata_must_list_one_name_per_class()
    {
        var cfg = InferenceFixtures.TinyConfig();
        using var model = InferenceFixtures.TinyModel(cfg);
        Assert.That(() => ModelArtifact.Write(_directory, model, cfg, ["only-one"]), Throws.ArgumentException.With.Message.Contains("NUM_CLASSES"));
        WriteTiny();
        File.WriteAllText(Path.Combine(_directory, "metadata.json"), """{"class_names": ["a", "b", "c"]}""");
        Assert.That(() => ModelArtifact.Read(_directory), Throws.TypeOf<ModelArtifactException>().With.Message.Contains("3 class names"));
        File.WriteAllText(Path.Combine(_directory, "metadata.json"), "{not json");
        Assert.That(() => ModelArtifact.Read(_directory), Throws.TypeOf<ModelArtifactException>().With.Message.Contains("metadata.json"));
    }

    [Test]
    public void An_unreadable_config_is_reported_with_its_path()
    {
        WriteTiny();
        var config = Path.Combine(_directory, ModelArtifact.ConfigFileName);
        File.WriteAllText(config, "MODEL:\n  ROI_HEADS: [unclosed\n");
        Assert.That(() => ModelArtifact.Read(_directory), Throws.TypeOf<ModelArtifactException>().With.Property(nameof(ModelArtifactException.Path)).EqualTo(config));
        File.WriteAllText(config, "MODEL:\n  NO_SUCH_KEY: 1\n");
        Assert.That(() => ModelArtifact.Read(_directory), Throws.TypeOf<ModelArtifactException>().With.Message.Contains("NO_SUCH_KEY"));
    }

    [Test]
    public void Device_override_replaces_MODEL_DEVICE()
    {
        WriteTiny(InferenceFixtures.TinyConfig("MODEL.DEVICE", "cuda"));
        Assert.That(ModelArtifact.Read(_directory).Config.Get<string>("MODEL.DEVICE"), Is.EqualTo("cuda"));
        using var predictor = Predictor.FromModelDirectory(_directory, device: "cpu", warmUp: false);
        Assert.That(predictor.Config.Get<string>("MODEL.DEVICE"), Is.EqualTo("cpu"));
    }

    void WriteConfig(CfgNode cfg) => File.WriteAllText(Path.Combine(_directory, ModelArtifact.ConfigFileName), cfg.Dump());
}
