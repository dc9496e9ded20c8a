using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

public class DumpTests
{
    private static IEnumerable<string> AllZooConfigs() => ModelZoo.ConfigNames;

    [TestCaseSource(nameof(AllZooConfigs))]
    public void Dump_loads_back_identically(string name)
    {
        var cfg = ModelZoo.GetConfig(name);
        cfg.MergeFromList(["SOLVER.WEIGHT_DECAY_BIAS", "0.0", "OUTPUT_DIR", "/tmp/out dir: 'x' #1", "MODEL.WEIGHTS", "'yes'"]);

        var reloaded = DefaultConfig.Create();
        reloaded.MergeFromYamlText(cfg.Dump(), "dump of " + name);

        Assert.That(reloaded.Differences(cfg), Is.Empty);
        Assert.That(reloaded.Dump(), Is.EqualTo(cfg.Dump()));
    }

    [Test]
    public void Dump_writes_scalars_as_pyyaml_safe_dump()
    {
        var cfg = new CfgNode();
        cfg.AddKey("A_FLOATS", new[] { 1.0, 0.1, 1e-5, 1e16, 1e15, -0.0, 0.0001, 2.5e-7, double.PositiveInfinity });
        cfg.AddKey("B_STRINGS", new[] { "a b", string.Empty, "x: y", "#x", "a #b", "- x", "-x", "yes", "1e-4", "0.1", "null", "~", "é", "a\tb", "./output", "123", "2020-01-01", "a'b", "True" });
        cfg.AddKey("C_NESTED", CfgSequence.List(CfgSequence.List(), CfgSequence.List(CfgSequence.List(1L), 2L)));
        cfg.AddKey("D_NONE", null);
        cfg.AddKey("E.F", true);

        // Expected text: PyYAML 6.0.3 yaml.safe_dump of the same data.
        const string expected = """
            A_FLOATS:
            - 1.0
            - 0.1
            - 1.0e-05
            - 1.0e+16
            - 1000000000000000.0
            - -0.0
            - 0.0001
            - 2.5e-07
            - .inf
            B_STRINGS:
            - a b
            - ''
            - 'x: y'
            - '#x'
            - 'a #b'
            - '- x'
            - -x
            - 'yes'
            - 1e-4
            - '0.1'
            - 'null'
            - '~'
            - "\xE9"
            - "a\tb"
            - ./output
            - '123'
            - '2020-01-01'
            - a'b
            - 'True'
            C_NESTED:
            - []
            - - - 1
              - 2
            D_NONE: null
            E:
              F: true

            """;
        Assert.That(cfg.Dump(), Is.EqualTo(expected));
    }

    [TestCase(0.001, "0.001")]
    [TestCase(0.0001, "0.0001")]
    [TestCase(1e-5, "1e-05")]
    [TestCase(1e16, "1e+16")]
    [TestCase(1e15, "1000000000000000.0")]
    [TestCase(123.675, "123.675")]
    [TestCase(1.0 / 3, "0.3333333333333333")]
    [TestCase(-2.5e-300, "-2.5e-300")]
    public void Floats_print_as_python_repr(double value, string expected)
    {
        Assert.That(PythonRepr.Float(value), Is.EqualTo(expected));
    }
}
