using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

/// <summary>Cases checked against CPython 3's <c>ast.literal_eval</c> (raising means yacs keeps the string).</summary>
public class PythonLiteralTests
{
    private static IEnumerable<TestCaseData> Literals()
    {
        yield return new TestCaseData("20000", 20000L);
        yield return new TestCaseData(" 7 ", 7L);
        yield return new TestCaseData("1_000", 1000L);
        yield return new TestCaseData("00", 0L);
        yield return new TestCaseData("0x10", 16L);
        yield return new TestCaseData("0o17", 15L);
        yield return new TestCaseData("0b11", 3L);
        yield return new TestCaseData("-(1)", -1L);
        yield return new TestCaseData("- 1", -1L);
        yield return new TestCaseData("+1", 1L);
        yield return new TestCaseData("0.00025", 0.00025);
        yield return new TestCaseData("1e-4", 0.0001);
        yield return new TestCaseData("1.e5", 100000.0);
        yield return new TestCaseData(".5", 0.5);
        yield return new TestCaseData("1.", 1.0);
        yield return new TestCaseData("1e400", double.PositiveInfinity);
        yield return new TestCaseData("True", true);
        yield return new TestCaseData("False", false);
        yield return new TestCaseData("None", null);
        yield return new TestCaseData("'a' 'b'", "ab");
        yield return new TestCaseData("u'x'", "x");
        yield return new TestCaseData("r'\\d'", "\\d");
        yield return new TestCaseData("'\\d'", "\\d");
        yield return new TestCaseData("'tab\\there'", "tab\there");
        yield return new TestCaseData("'''a\nb'''", "a\nb");
        yield return new TestCaseData("\"it's\"", "it's");
        yield return new TestCaseData("1 # comment", 1L);
        yield return new TestCaseData("(1)", 1L);
        yield return new TestCaseData("()", CfgSequence.Tuple());
        yield return new TestCaseData("(1000,)", CfgSequence.Tuple(1000L));
        yield return new TestCaseData("1, 2", CfgSequence.Tuple(1L, 2L));
        yield return new TestCaseData("((1,2))", CfgSequence.Tuple(1L, 2L));
        yield return new TestCaseData("(1,\n2)", CfgSequence.Tuple(1L, 2L));
        yield return new TestCaseData("[1,]", CfgSequence.List(1L));
        yield return new TestCaseData("[]", CfgSequence.List());
        yield return new TestCaseData("[[32], [64, 128]]", CfgSequence.List(CfgSequence.List(32L), CfgSequence.List(64L, 128L)));
        yield return new TestCaseData("('balloon_train', \"b\")", CfgSequence.Tuple("balloon_train", "b"));
        yield return new TestCaseData("[0.5, None, True, -2]", CfgSequence.List(0.5, null, true, -2L));
    }

    [TestCaseSource(nameof(Literals))]
    public void Python_literals_parse_as_literal_eval_does(string text, object? expected)
    {
        Assert.That(PythonLiteral.TryParse(text, out var value), Is.True);
        Assert.That(value, Is.EqualTo(expected));
        Assert.That(value?.GetType(), Is.EqualTo(expected?.GetType()));
    }

    [TestCase("res4")]
    [TestCase("./output")]
    [TestCase("/opt/ml/model")]
    [TestCase("detectron2://ImageNetPretrained/MSRA/R-50.pkl")]
    [TestCase("true")]
    [TestCase("cuda:0")]
    [TestCase("0777")]
    [TestCase("1__0")]
    [TestCase("1abc")]
    [TestCase("--1")]
    [TestCase("-True")]
    [TestCase("1+2")]
    [TestCase("1 2")]
    [TestCase("1,\n2")]
    [TestCase("f'a'")]
    [TestCase("'a' b'b'")]
    [TestCase("'\\x4'")]
    [TestCase("'a\nb'")]
    [TestCase("(,)")]
    [TestCase("[1")]
    [TestCase("")]
    public void Text_that_literal_eval_rejects_stays_a_string(string text)
    {
        Assert.That(PythonLiteral.TryParse(text, out _), Is.False);
    }

    [TestCase("{}", "dict")]
    [TestCase("{'a': 1}", "dict")]
    [TestCase("{1}", "set")]
    [TestCase("b'a'", "bytes")]
    [TestCase("1j", "complex")]
    [TestCase("99999999999999999999", "int")]
    [TestCase("[{}]", "list containing a dict")]
    public void Literals_no_key_can_hold_are_reported_by_python_type(string text, string typeName)
    {
        Assert.That(PythonLiteral.TryParse(text, out var value), Is.True);
        Assert.That(value, Is.TypeOf<UnsupportedLiteral>().With.Property(nameof(UnsupportedLiteral.TypeName)).EqualTo(typeName));
    }
}
