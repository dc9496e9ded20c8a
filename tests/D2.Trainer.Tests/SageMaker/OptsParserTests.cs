using D2.Trainer.SageMaker;

namespace D2.Trainer.Tests.SageMaker;

public class OptsParserTests
{
    [Test]
    public void Splits_on_whitespace_outside_brackets_and_quotes()
    {
        Assert.That(OptsParser.Parse("SOLVER.MAX_ITER 500  INPUT.MIN_SIZE_TRAIN (640, 672, 704)\tDATASETS.TRAIN ('a', 'b c')"),
            Is.EqualTo(new[] { "SOLVER.MAX_ITER", "500", "INPUT.MIN_SIZE_TRAIN", "(640, 672, 704)", "DATASETS.TRAIN", "('a', 'b c')" }));
    }

    [Test]
    public void Quotes_around_a_whole_value_are_removed_and_keep_its_spaces()
    {
        Assert.That(OptsParser.Parse("OUTPUT_DIR \"/tmp/my run\" MODEL.WEIGHTS ''"),
            Is.EqualTo(new[] { "OUTPUT_DIR", "/tmp/my run", "MODEL.WEIGHTS", "" }));
    }

    [Test]
    public void Empty_opts_give_no_pairs() => Assert.That(OptsParser.Parse("   "), Is.Empty);

    [TestCase("SOLVER.MAX_ITER", "1 items")]
    [TestCase("A (1, 2", "unbalanced")]
    [TestCase("A 1)", "unbalanced ')'")]
    [TestCase("A \"x", "unbalanced")]
    public void Malformed_opts_are_reported(string opts, string message) =>
        Assert.That(Assert.Throws<JobInputException>(() => OptsParser.Parse(opts))!.Message, Does.Contain("opts").And.Contain(message));
}
