using System.Text.Json;
using D2.Detection.Config;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Inference;

/// <summary>
/// Folders written by Detectron2 (its config.yaml dump, model_final.pth or a model-zoo .pkl) predict exactly what the
/// model they were saved from predicts, convert into this project's artifact, and trace their intermediate results.
/// </summary>
public class Detectron2FolderTests
{
    const int Height = 120, Width = 170;
    string _root = null!;
    byte[] _png = null!;
    CfgNode _maskConfig = null!;
    GeneralizedRCNN _maskModel = null!;
    Predictor _reference = null!;
    string _pthFolder = null!;

    [OneTimeSetUp]
    public void WriteFolders()
    {
        _root = InferenceFixtures.TemporaryDirectory();
        _png = InferenceFixtures.SyntheticPng(Width, Height);
        var yaml = Detectron2Fixtures.ConfigYaml();
        _maskConfig = Detectron2Fixtures.LoadConfig(yaml);
        _maskModel = Detectron2Fixtures.Model(_maskConfig);
        _reference = new Predictor(_maskConfig, _maskModel, new ModelMetadata(ModelMetadata.IndexNames(2)), warmUp: false);
        _pthFolder = Detectron2Fixtures.Folder(_root, "pth", yaml);
        // An old checkpoint's pixel statistics: a key the model does not use.
        Detectron2Fixtures.WritePth(Path.Combine(_pthFolder, "model_final.pth"), _maskModel, ("pixel_mean", tensor(new float[] { 103.53f, 116.28f, 123.675f }).view(3, 1, 1)));
    }

    [OneTimeTearDown]
    public void DeleteFolders()
    {
        _reference.Dispose();
        _maskModel.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    static void AssertSame(Instances actual, Instances expected)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length).And.GreaterThan(0), "instances");
        Assert.That(InferenceFixtures.Same(actual.Get<Boxes>("pred_boxes").Tensor, expected.Get<Boxes>("pred_boxes").Tensor), Is.True, "pred_boxes");
        Assert.That(InferenceFixtures.Same(actual.Get<Tensor>("scores"), expected.Get<Tensor>("scores")), Is.True, "scores");
        Assert.That(InferenceFixtures.Same(actual.Get<Tensor>("pred_classes"), expected.Get<Tensor>("pred_classes")), Is.True, "pred_classes");
        Assert.That(actual.Has("pred_masks"), Is.EqualTo(expected.Has("pred_masks")));
        if (expected.Has("pred_masks"))
            Assert.That(InferenceFixtures.Same(actual.Get<Tensor>("pred_masks"), expected.Get<Tensor>("pred_masks")), Is.True, "pred_masks");
    }

    [Test]
    public void Config_yaml_is_detectron2s_dump_with_its_anchors_and_aliases()
    {
        var text = File.ReadAllText(Path.Combine(_pthFolder, "config.yaml"));
        Assert.That(text, Does.Contain("&id001").And.Contain("*id001").And.Contain("VERSION: 2").And.Contain("RETINANET:"));
        Assert.That(_maskConfig.Get<double[]>("MODEL.ROI_BOX_HEAD.BBOX_REG_WEIGHTS"), Is.EqualTo(new[] { 10.0, 10.0, 5.0, 5.0 }));
    }

    [Test]
    public void Model_final_pth_folder_predicts_exactly_as_the_saved_model()
    {
        using var predictor = Predictor.FromModelDirectory(_pthFolder, warmUp: false);
        using var expected = _reference.Predict(_png);
        using var actual = predictor.Predict(_png);
        AssertSame(actual, expected);
        Assert.That(predictor.ClassNames, Is.EqualTo(new[] { "0", "1" }), "no metadata.json: classes by index");
        Assert.That(predictor.LoadReport!.Missing, Is.Empty);
        Assert.That(predictor.LoadReport.Unexpected, Is.EqualTo(new[] { "pixel_mean" }));
    }

    [Test]
    public void Model_zoo_pkl_folder_predicts_exactly_as_the_saved_model()
    {
        var folder = Detectron2Fixtures.Folder(_root, "pkl", Detectron2Fixtures.ConfigYaml());
        Detectron2Fixtures.WritePkl(Path.Combine(folder, "model_final_f10217.pkl"), _maskModel);
        File.WriteAllText(Path.Combine(folder, "metadata.json"), """{"thing_classes": ["balloon", "kite"]}""");
        using var predictor = Predictor.FromModelDirectory(folder, warmUp: false);
        using var expected = _reference.Predict(_png);
        using var actual = predictor.Predict(_png);
        AssertSame(actual, expected);
        Assert.That(predictor.ClassNames, Is.EqualTo(new[] { "balloon", "kite" }));
        Assert.That(predictor.LoadReport!.Notes, Does.Contain("Reading a file from 'Detectron2 Model Zoo'"));
    }

    [Test]
    public void Faster_rcnn_with_one_class_from_pth_pkl_and_safetensors_predicts_the_same()
    {
        // A smaller test size whose resize rounds (170 x 120 -> 91 x 64).
        var yaml = Detectron2Fixtures.ConfigYaml(mask: false, numClasses: 1, minSizeTest: 64, maxSizeTest: 100);
        var cfg = Detectron2Fixtures.LoadConfig(yaml);
        using var model = Detectron2Fixtures.Model(cfg, seed: 5);
        using var direct = new Predictor(cfg, model, new ModelMetadata(["thing"]), warmUp: false);
        using var expected = direct.Predict(_png);
        foreach (var file in new[] { "model_final.pth", "model_final.pkl", "model_final.safetensors" })
        {
            var folder = Detectron2Fixtures.Folder(_root, "faster-" + Path.GetExtension(file).TrimStart('.'), yaml);
            var path = Path.Combine(folder, file);
            if (file.EndsWith(".pth", StringComparison.Ordinal))
                Detectron2Fixtures.WritePth(path, model);
            else if (file.EndsWith(".pkl", StringComparison.Ordinal))
                Detectron2Fixtures.WritePkl(path, model);
            else
                Detectron2Fixtures.WriteSafeTensors(path, model);
            using var predictor = Predictor.FromModelDirectory(folder, warmUp: false);
            using var actual = predictor.Predict(_png);
            AssertSame(actual, expected);
            Assert.That(actual.Has("pred_masks"), Is.False, file);
        }
    }

    [Test]
    public void Convert_writes_an_artifact_that_predicts_the_same_and_reports_unused_keys()
    {
        var output = Path.Combine(_root, "converted");
        var conversion = ModelConverter.Convert(_pthFolder, output);
        Assert.That(conversion.Report.Unexpected, Is.EqualTo(new[] { "pixel_mean" }));
        Assert.That(conversion.Report.Missing, Is.Empty);
        Assert.That(Directory.GetFiles(output).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "config.yaml", "metadata.json", "model_final.safetensors" }));
        Assert.That(conversion.Artifact.Config.Differences(_maskConfig), Is.Empty, "the resolved config is Detectron2's");
        using var predictor = Predictor.FromModelDirectory(output, warmUp: false);
        using var expected = _reference.Predict(_png);
        using var actual = predictor.Predict(_png);
        AssertSame(actual, expected);
        Assert.That(predictor.ClassNames, Is.EqualTo(new[] { "0", "1" }));
    }

    [Test]
    public void Convert_takes_a_checkpoint_file_with_a_separate_config_and_class_names()
    {
        var folder = Path.Combine(_root, "zoo-file");
        Directory.CreateDirectory(folder);
        var pkl = Path.Combine(folder, "model_final_abc.pkl");
        Detectron2Fixtures.WritePkl(pkl, _maskModel);
        var config = Path.Combine(_root, "zoo-config.yaml");
        File.WriteAllText(config, Detectron2Fixtures.ConfigYaml());
        var output = Path.Combine(_root, "zoo-converted");
        var conversion = ModelConverter.Convert(pkl, output, config, classNames: ["balloon", "kite"]);
        Assert.That(conversion.Report.IsComplete, Is.True, conversion.Report.ToString());
        Assert.That(ModelArtifact.Read(output).Metadata.ClassNames, Is.EqualTo(new[] { "balloon", "kite" }));
    }

    [Test]
    public void Trace_summarises_features_proposals_and_box_head_and_dumps_as_json()
    {
        using var predictor = Predictor.FromModelDirectory(_pthFolder, warmUp: false);
        var trace = new InferenceTrace(topProposals: 5);
        using var bitmap = predictor.DecodeImage(_png);
        using var input = predictor.Preprocessor.Preprocess(bitmap);
        using var instances = predictor.Predict(input, trace);
        using var untraced = predictor.Predict(input);
        AssertSame(instances, untraced);

        Assert.That(trace.ImageSizes, Is.EqualTo(new[] { (96, 136) }), "170 x 120 at short side 96: int(136.0 + 0.5)");
        Assert.That(trace.Input!.Shape, Is.EqualTo(new long[] { 1, 3, 96, 160 }), "padded to a multiple of 32");
        Assert.That(trace.Features.Select(f => f.Name), Is.EqualTo(new[] { "res2", "res3", "res4", "res5", "p2", "p3", "p4", "p5", "p6" }));
        Assert.That(trace.Features.Single(f => f.Name == "p6").Shape, Is.EqualTo(new long[] { 1, 16, 2, 3 }));
        var proposals = trace.Proposals.Single();
        Assert.That(proposals.TopLogits, Has.Count.EqualTo(5));
        Assert.That(proposals.TopLogits, Is.Ordered.Descending);
        var boxHead = trace.BoxHead.Single();
        Assert.That(boxHead.Proposals, Is.EqualTo(proposals.Count));
        Assert.That(boxHead.Detections, Is.InRange(instances.Length, boxHead.AboveScoreThreshold));

        using var json = JsonDocument.Parse(PredictionDump.ToUtf8Bytes(predictor.Config, trace, instances, predictor.ClassNames));
        var rootElement = json.RootElement;
        Assert.That(rootElement.GetProperty("features").GetProperty("p2").GetProperty("std").GetDouble(), Is.GreaterThan(0));
        Assert.That(rootElement.GetProperty("rpn_proposals")[0].GetProperty("top").GetArrayLength(), Is.EqualTo(5));
        Assert.That(rootElement.GetProperty("instances").GetProperty("count").GetInt32(), Is.EqualTo(instances.Length));
        Assert.That(rootElement.GetProperty("config").GetProperty("INPUT.MIN_SIZE_TEST").GetInt32(), Is.EqualTo(96));
    }
}
