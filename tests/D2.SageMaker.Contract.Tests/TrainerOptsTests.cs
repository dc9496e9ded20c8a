namespace D2.SageMaker.Contract.Tests;

/// <summary>The <c>opts</c> hyperparameter, split once for the trainer and for the checks before a job is created.</summary>
public class TrainerOptsTests
{
    [Test]
    public void Tuples_and_quotes_keep_their_spaces_and_the_last_key_wins()
    {
        const string opts = "SOLVER.MAX_ITER 500 INPUT.MIN_SIZE_TRAIN (640, 672) DATASETS.TRAIN \"('a', 'b')\" SOLVER.MAX_ITER 20";
        Assert.That(TrainerOpts.Split(opts), Is.EqualTo(new[]
        {
            "SOLVER.MAX_ITER", "500", "INPUT.MIN_SIZE_TRAIN", "(640, 672)", "DATASETS.TRAIN", "('a', 'b')", "SOLVER.MAX_ITER", "20",
        }));
        Assert.That(TrainerOpts.Find(opts, "SOLVER.MAX_ITER"), Is.EqualTo("20"));
        Assert.That(TrainerOpts.Find(opts, "SOLVER.IMS_PER_BATCH"), Is.Null);
        Assert.That(TrainerHyperParameters.FormatOpts([new("SOLVER.MAX_ITER", "5"), new("MODEL.DEVICE", "cpu")]), Is.EqualTo("SOLVER.MAX_ITER 5 MODEL.DEVICE cpu"));
    }

    [Test]
    public void Malformed_opts_are_refused_naming_the_problem()
    {
        Assert.That(Assert.Throws<FormatException>(() => TrainerOpts.Split("SOLVER.MAX_ITER"))!.Message, Does.Contain("KEY VALUE pairs"));
        Assert.That(Assert.Throws<FormatException>(() => TrainerOpts.Split("INPUT.MIN_SIZE_TRAIN (640, 672"))!.Message, Does.Contain("unbalanced"));
        Assert.That(Assert.Throws<FormatException>(() => TrainerOpts.Split("A ]"))!.Message, Does.Contain("unbalanced ']'"));
    }

    [Test]
    public void Hyperparameter_names_are_the_documented_kebab_case_ones_each_described_once()
    {
        Assert.That(TrainerHyperParameters.All, Is.Unique);
        Assert.That(TrainerHyperParameters.All, Has.All.Match("^[a-z]+(-[a-z]+)*$"));
        Assert.That(TrainerHyperParameters.All, Has.None.StartsWith(TrainerHyperParameters.ReservedPrefix.TrimEnd('_')));
        Assert.That(TrainerHyperParameters.Descriptions.Values, Has.All.Not.Empty);
        Assert.That(TrainerHyperParameters.All, Does.Contain("config-file").And.Contain("opts").And.Contain("num-gpus"));
    }
}
