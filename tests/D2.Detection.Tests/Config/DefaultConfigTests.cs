using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

public class DefaultConfigTests
{
    /// <summary>The keys that defaults.py (Detectron2 v0.6) sets to a tuple; every other sequence default is a list.</summary>
    private static readonly string[] TupleKeys =
    [
        "INPUT.MIN_SIZE_TRAIN", "DATASETS.TRAIN", "DATASETS.PROPOSAL_FILES_TRAIN", "DATASETS.TEST", "DATASETS.PROPOSAL_FILES_TEST",
        "MODEL.RPN.BBOX_REG_WEIGHTS", "MODEL.ROI_BOX_HEAD.BBOX_REG_WEIGHTS", "MODEL.ROI_BOX_CASCADE_HEAD.BBOX_REG_WEIGHTS",
        "MODEL.ROI_BOX_CASCADE_HEAD.IOUS", "MODEL.ROI_KEYPOINT_HEAD.CONV_DIMS", "MODEL.RETINANET.BBOX_REG_WEIGHTS",
        "SOLVER.STEPS", "TEST.AUG.MIN_SIZES",
    ];

    [Test]
    public void Defaults_equal_detectron2_dump_key_by_key()
    {
        var defaults = DefaultConfig.Create();
        var dumped = ConfigFixtures.LoadDump(ConfigFixtures.DefaultDump);

        Assert.That(dumped.Differences(defaults), Is.Empty);
    }

    [Test]
    public void Defaults_have_exactly_the_keys_of_detectron2_dump()
    {
        var dumpKeys = new CfgNodeKeys(File.ReadAllText(ConfigFixtures.PathOf(ConfigFixtures.DefaultDump))).LeafKeys;
        var defaultKeys = DefaultConfig.Create().Leaves().Select(leaf => leaf.Key).ToList();

        Assert.That(defaultKeys, Is.EquivalentTo(dumpKeys));
        Assert.That(defaultKeys, Has.Count.EqualTo(192));
    }

    [Test]
    public void Dump_of_defaults_is_detectron2_dump_text()
    {
        Assert.That(DefaultConfig.Create().Dump(), Is.EqualTo(ConfigFixtures.ExpandedText(ConfigFixtures.DefaultDump)));
    }

    [Test]
    public void Tuple_defaults_are_tuples_and_other_sequences_lists()
    {
        var defaults = DefaultConfig.Create();
        var sequences = defaults.Leaves().Where(leaf => leaf.Value is CfgSequence).ToList();

        Assert.That(sequences.Where(leaf => ((CfgSequence)leaf.Value!).IsTuple).Select(leaf => leaf.Key), Is.EquivalentTo(TupleKeys));
        Assert.That(sequences, Has.Count.EqualTo(TupleKeys.Length + 22));
    }

    [Test]
    public void Defaults_hold_detectron2_values_with_python_types()
    {
        var defaults = DefaultConfig.Create();

        Assert.That(defaults["MODEL.ROI_HEADS.NUM_CLASSES"], Is.EqualTo(80L));
        Assert.That(defaults["MODEL.DEVICE"], Is.EqualTo("cuda"));
        Assert.That(defaults["MODEL.META_ARCHITECTURE"], Is.EqualTo("GeneralizedRCNN"));
        Assert.That(defaults["INPUT.MIN_SIZE_TRAIN"], Is.EqualTo(CfgSequence.Tuple(800L)));
        Assert.That(defaults["SOLVER.STEPS"], Is.EqualTo(CfgSequence.Tuple(30000L)));
        Assert.That(defaults["SOLVER.BASE_LR"], Is.EqualTo(0.001));
        Assert.That(defaults["SOLVER.WEIGHT_DECAY_BIAS"], Is.Null);
        Assert.That(defaults["MODEL.PIXEL_MEAN"], Is.EqualTo(CfgSequence.List(103.53, 116.28, 123.675)));
        Assert.That(defaults["MODEL.ANCHOR_GENERATOR.SIZES"], Is.EqualTo(CfgSequence.List(CfgSequence.List(32L, 64L, 128L, 256L, 512L))));
        Assert.That(defaults["MODEL.ANCHOR_GENERATOR.OFFSET"], Is.EqualTo(0.0));
        Assert.That(defaults["FLOAT32_PRECISION"], Is.EqualTo(string.Empty));
        Assert.That(defaults["GLOBAL.HACK"], Is.EqualTo(1.0));
        Assert.That(defaults["VERSION"], Is.EqualTo(2L));
    }

    [Test]
    public void Create_returns_independent_mutable_copies()
    {
        var first = DefaultConfig.Create();
        first.Set("SOLVER.BASE_LR", 0.5);

        Assert.That(first.IsFrozen, Is.False);
        Assert.That(DefaultConfig.Create()["SOLVER.BASE_LR"], Is.EqualTo(0.001));
    }

    /// <summary>The leaf keys of a YAML document, read with YamlDotNet directly (independent of the config reader).</summary>
    private sealed class CfgNodeKeys
    {
        public CfgNodeKeys(string yaml)
        {
            var stream = new YamlDotNet.RepresentationModel.YamlStream();
            stream.Load(new StringReader(yaml));
            Collect((YamlDotNet.RepresentationModel.YamlMappingNode)stream.Documents[0].RootNode, string.Empty);
        }

        public List<string> LeafKeys { get; } = [];

        private void Collect(YamlDotNet.RepresentationModel.YamlMappingNode node, string prefix)
        {
            foreach (var (key, value) in node.Children)
            {
                var fullKey = prefix + key;
                if (value is YamlDotNet.RepresentationModel.YamlMappingNode child)
                {
                    Collect(child, fullKey + ".");
                }
                else
                {
                    LeafKeys.Add(fullKey);
                }
            }
        }
    }
}
